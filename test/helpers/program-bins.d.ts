/** Types of program-bins.js: the repository root and the built programs' entry points. */
export const ROOT: string;
export const SERVER_BIN: string;
export const FETCHER_BIN: string;
