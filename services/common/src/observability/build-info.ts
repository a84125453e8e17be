import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Gauge, Registry } from 'prom-client';

export interface BuildInfo {
  /** Program version; defaults to the version of the nearest package.json. */
  version?: string;
  /** Source revision (e.g. a git commit), when the build knows it. */
  revision?: string;
}

/**
 * The version field of the nearest package.json at or above `startDir`
 * (a service's dist/ or src/ folder), or `unknown`.
 */
export function packageVersion(startDir: string): string {
  let dir = startDir;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      return typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  }
}

/** Registers `<prefix>build_info{version,revision,node_version} 1`, the usual info-metric pattern. */
export function registerBuildInfo(registry: Registry, prefix: string, info: Required<Pick<BuildInfo, 'version'>> & BuildInfo): void {
  const gauge = new Gauge({
    name: `${prefix}build_info`,
    help: 'Build information; the value is always 1.',
    labelNames: ['version', 'revision', 'node_version'] as const,
    registers: [registry],
  });
  gauge.set({ version: info.version, revision: info.revision ?? 'unknown', node_version: process.version }, 1);
}
