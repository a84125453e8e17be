import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, REPO_ROOT, renderChart, type K8sObject } from './helm';
import { podSpecs } from './workloads';

/**
 * Images a user can pull: the chart names registry/repository:tag (or @digest), global.imageRegistry
 * wins, pull secrets reach every pod, and `make images REGISTRY=...` (scripts/build-images.sh)
 * tags exactly what the chart names. CI has no buildah: the script's --print-tags mode says what
 * it would tag, from the same code path that tags.
 */
const appVersion = (parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

function imagesOf(objects: K8sObject[]): string[] {
  return [...new Set(podSpecs(objects).flatMap(({ spec }) => [...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.image)))].sort();
}

function buildTags(registry?: string): { tags: string[]; helmFlag: string } {
  const env = { ...process.env, ...(registry === undefined ? {} : { REGISTRY: registry }) };
  if (registry === undefined) delete env.REGISTRY;
  const lines = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'build-images.sh'), '--print-tags'], { encoding: 'utf8', env }).trim().split('\n');
  return { tags: lines.slice(0, 2).sort(), helmFlag: lines[2] ?? '' };
}

describe('images', () => {
  it('the chart version\'s appVersion is the programs\' version (the default tag is what make images builds)', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(appVersion).toBe(pkg.version);
  });

  it('make images tags, by default, exactly the images the chart names by default', () => {
    expect(buildTags().tags).toEqual(imagesOf(renderChart({})));
    expect(buildTags().tags).toEqual([`localhost/msd/fetcher:${appVersion}`, `localhost/msd/segment-server:${appVersion}`]);
  });

  it('make images REGISTRY=r.example/msd tags what the chart names with global.imageRegistry=r.example/msd', () => {
    const { tags, helmFlag } = buildTags('r.example/msd');
    expect(tags).toEqual([`r.example/msd/fetcher:${appVersion}`, `r.example/msd/segment-server:${appVersion}`]);
    expect(helmFlag).toBe('helm: --set global.imageRegistry=r.example/msd');
    expect(imagesOf(renderChart({ set: ['global.imageRegistry=r.example/msd'] }))).toEqual(tags);
    // image.registry per program works the same way; global wins over it
    expect(imagesOf(renderChart({ set: ['segmentServer.image.registry=r.example/msd', 'fetcher.image.registry=r.example/msd'] }))).toEqual(tags);
    expect(imagesOf(renderChart({ set: ['global.imageRegistry=r.example/msd', 'fetcher.image.registry=other.example'] }))).toEqual(tags);
  });

  it('uses a digest instead of the tag, and a tag instead of appVersion, when given', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const images = imagesOf(renderChart({ set: [`fetcher.image.digest=${digest}`, 'segmentServer.image.tag=0.1.0-rc1', 'segmentServer.image.registry='] }));
    expect(images).toEqual([`localhost/msd/fetcher@${digest}`, 'segment-server:0.1.0-rc1']);
  });

  it('gives every pod the pull secrets of global.imagePullSecrets and imagePullSecrets, once each', () => {
    const objects = renderChart({ set: ['global.imagePullSecrets[0]=mirror', 'imagePullSecrets[0].name=extra', 'imagePullSecrets[1]=mirror'] });
    const specs = podSpecs(objects);
    expect(specs.map((p) => p.owner).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^Job\//), expect.stringMatching(/^Pod\//), expect.stringMatching(/^StatefulSet\//)]));
    for (const { spec } of specs) expect((spec as { imagePullSecrets?: unknown }).imagePullSecrets).toEqual([{ name: 'mirror' }, { name: 'extra' }]);
  });
});
