/**
 * The convict formats every setting is checked with, ranges included, so a value is judged in
 * one place (the schema) and nothing after loading re-checks it. Each format coerces the text a
 * flag or environment variable gives; its error says what is accepted.
 */
import convict from 'convict';
import { parseSize } from './units';

const wholeText = (v: unknown): number => (/^\s*\d+\s*$/.test(String(v)) ? Number(v) : Number.NaN);
const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

let formatsAdded = false;
/** Registers the fixed formats; idempotent (convict's registry is process-wide). */
export function addConfigFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  convict.addFormat({
    name: 'size',
    validate: (v: unknown) => {
      if (!isWhole(v) || v < 0) throw new Error('must be a size in bytes, e.g. 1048576, 512KiB, 4MiB');
    },
    coerce: (v: unknown) => parseSize(String(v)) ?? Number.NaN,
  });
  convict.addFormat({
    name: 'port-list',
    validate: (v: unknown) => {
      if (!Array.isArray(v)) throw new Error('must be a list of ports');
      for (const p of v) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`port ${String(p)} is not between 1 and 65535`);
    },
    coerce: (v: unknown) => String(v).split(/[\s,]+/).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : Number.NaN)),
  });
  convict.addFormat({
    name: 'optional-port',
    validate: (v: unknown) => {
      if (v === null) return;
      if (!isWhole(v) || v < 0 || v > 65535) throw new Error('must be a port between 0 and 65535 (0 = any free port)');
    },
    coerce: (v: unknown) => (v === '' || v === 'off' ? null : /^\d+$/.test(String(v)) ? Number(v) : Number.NaN),
  });
  convict.addFormat({
    name: 'seconds',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('must be a number of seconds >= 0');
    },
    coerce: (v: unknown) => Number(v),
  });
  convict.addFormat({
    name: 'positive-seconds',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error('must be a number of seconds > 0');
    },
    coerce: (v: unknown) => Number(v),
  });
  convict.addFormat({
    name: 'positive-int',
    validate: (v: unknown) => {
      if (!isWhole(v) || v < 1) throw new Error('must be a whole number >= 1');
    },
    coerce: wholeText,
  });
  convict.addFormat({
    name: 'whole',
    validate: (v: unknown) => {
      if (!isWhole(v) || v < 0) throw new Error('must be a whole number >= 0');
    },
    coerce: wholeText,
  });
  convict.addFormat({
    name: 'string-list',
    validate: (v: unknown) => {
      if (!Array.isArray(v)) throw new Error('must be a comma-separated list');
    },
    coerce: (v: unknown) => String(v).split(/[\s,]+/).filter(Boolean),
  });
  convict.addFormat({
    // globs may hold spaces (file names do): split on commas only
    name: 'glob-list',
    validate: (v: unknown) => {
      if (!Array.isArray(v)) throw new Error('must be a comma-separated list of globs');
      if (v.some((g) => typeof g !== 'string' || g.trim() === '')) throw new Error('must not hold an empty glob');
    },
    coerce: (v: unknown) => String(v).split(',').filter((g) => g !== ''),
  });
  convict.addFormat({
    name: 'address',
    validate: (v: unknown) => {
      if (typeof v !== 'string' || v.trim() === '') throw new Error('must not be empty; give an address such as 127.0.0.1 (this host only) or 0.0.0.0 (all interfaces)');
    },
  });
}

/** A whole number in [lo, hi]; returns the name of the format (registered on first use). */
export function wholeBetween(lo: number, hi: number): string {
  const name = `whole ${lo}..${hi}`;
  register(name, () => convict.addFormat({
    name,
    validate: (v: unknown) => {
      if (!isWhole(v) || v < lo || v > hi) throw new Error(`must be a whole number between ${lo} and ${hi}`);
    },
    coerce: wholeText,
  }));
  return name;
}

/** A size in bytes in [lo, hi] (text like "4MiB" accepted); returns the name of the format. */
export function sizeBetween(lo: number, hi: number): string {
  const name = `size ${lo}..${hi}`;
  register(name, () => convict.addFormat({
    name,
    validate: (v: unknown) => {
      if (!isWhole(v) || v < lo || v > hi) throw new Error(`must be a size between ${exactSize(lo)} and ${exactSize(hi)} (e.g. 1048576 or 1MiB)`);
    },
    coerce: (v: unknown) => parseSize(String(v)) ?? Number.NaN,
  }));
  return name;
}

const registered = new Set<string>();
function register(name: string, add: () => void): void {
  if (registered.has(name)) return;
  registered.add(name);
  add();
}

/** 4096 -> "4KiB", 16777216 -> "16MiB": the largest binary unit that divides the size exactly. */
export function exactSize(n: number): string {
  for (const [unit, mult] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= mult && n % mult === 0) return `${n / mult}${unit}`;
  }
  return `${n} bytes`;
}
