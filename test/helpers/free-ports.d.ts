/** Types of free-ports.js, the one free-port helper of test/ (see there). */
export function freePorts(count: number, avoid?: ReadonlySet<number>): Promise<number[]>;
export function freePort(): Promise<number>;
export function freePortRange(count: number): Promise<number>;
