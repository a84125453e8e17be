import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CI_DIR, REPO_ROOT, fetcherJob, findObject, renderChart } from './helm';
import type { Container, JobObject, StatefulSetObject } from './workloads';
import { FETCHER_TUNING, relaunchPlan } from '../../services/fetcher/src/runtime-tuning';

/**
 * The Dockerfiles are built for real by `make images` (scripts/build-images.sh, buildah + podman);
 * these checks run everywhere and tie each image to what the chart expects of it.
 */
interface Instruction {
  op: string;
  args: string;
}

function instructions(file: string): Instruction[] {
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l) as RegExpExecArray;
      return { op: (m[1] as string).toUpperCase(), args: m[2] as string };
    });
}

const objects = renderChart({ valuesFiles: [path.join(CI_DIR, 'default-values.yaml')] });
const chartContainer: Record<string, Container> = {
  'segment-server': findObject<StatefulSetObject>(objects, 'StatefulSet', '-segment-server').spec.template.spec.containers[0] as Container,
  fetcher: fetcherJob<JobObject>(objects).spec.template.spec.containers.find((c) => c.name === 'fetcher') as Container,
};

describe.each(['segment-server', 'fetcher'])('services/%s/Dockerfile', (program) => {
  const ins = instructions(path.join(REPO_ROOT, 'services', program, 'Dockerfile'));
  const stages = ins.filter((i) => i.op === 'FROM');
  const runtime = ins.slice(ins.lastIndexOf(stages[stages.length - 1] as Instruction));

  it('is multi-stage on Node 24 LTS, with a distroless runtime by default', () => {
    expect(stages.length).toBe(2);
    const args = Object.fromEntries(ins.filter((i) => i.op === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]));
    expect(args.NODE_IMAGE).toBe('node:24-bookworm-slim');
    expect(args.RUNTIME_IMAGE).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12/);
    expect(stages[0]?.args).toBe('${NODE_IMAGE} AS build');
    expect(stages[1]?.args).toBe('${RUNTIME_IMAGE}');
  });

  it('installs from the lockfile and keeps production dependencies only', () => {
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /npm prune --omit=dev/.test(r))).toBe(true);
    expect(runtime.filter((i) => i.op === 'RUN')).toEqual([]); // no shell needed in the runtime image
  });

  it('runs as uid 10001, stops on SIGTERM, carries OCI labels', () => {
    expect(runtime.find((i) => i.op === 'USER')?.args).toBe('10001:10001');
    expect(runtime.find((i) => i.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    const labels = runtime.filter((i) => i.op === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'source', 'licenses']) expect(labels).toContain(`org.opencontainers.image.${key}=`);
  });

  it("has the entrypoint the chart's command names, and the user the chart runs as", () => {
    const entrypoint = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const c = chartContainer[program] as Container;
    expect(entrypoint).toEqual(c.command);
    expect(entrypoint[1]).toBe(`/app/services/${program}/bin/${program}.js`);
    expect(c.securityContext?.runAsUser).toBe(10001);
    expect(runtime.some((i) => i.op === 'WORKDIR' && i.args === '/app')).toBe(true);
  });

  it('copies the compiled programs, protos and production node_modules into the runtime', () => {
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const part of ['/app/node_modules/', '/app/services/common/dist/', '/app/services/common/proto/', `/app/services/${program}/dist/`, `/app/services/${program}/bin/`]) {
      expect(copies.some((c) => c.startsWith('--from=build') && c.includes(part))).toBe(true);
    }
  });
});

describe('services/fetcher/Dockerfile runtime settings', () => {
  it('sets every runtime setting of the flat memory profile, so the launcher never re-execs in the image', () => {
    const ins = instructions(path.join(REPO_ROOT, 'services', 'fetcher', 'Dockerfile'));
    const env: Record<string, string> = {};
    for (const i of ins.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
    const plan = relaunchPlan({ execPath: '/nodejs/bin/node', execArgv: [], argv: ['/nodejs/bin/node', '/app/services/fetcher/bin/fetcher.js'], env });
    expect(plan).toBeUndefined();
    for (const [k, v] of Object.entries(FETCHER_TUNING.env)) expect(env[k]).toBe(v);
    for (const f of FETCHER_TUNING.nodeFlags) expect(env.NODE_OPTIONS?.split(/\s+/)).toContain(f);
  });
});

describe('.dockerignore', () => {
  it('keeps local builds and dependencies out of the build context', () => {
    const lines = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', '.tools']) expect(lines).toContain(p);
  });
});
