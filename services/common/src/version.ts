/** The product version, from the root package.json at build time. */
export const VERSION = '0.1.0';
