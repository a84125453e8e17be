import { fetcherJob, findObject, renderChart, tryHelmTemplate, type K8sObject } from './helm';
import { validateObject } from './k8s-validation';
import { envValue, type Container, type JobObject } from './workloads';

/**
 * A directory source fetched whole (issue 16): no fetcher.file means the Job fetches every listed
 * file into its output volume, narrowed by fetcher.include/exclude; the helm test then checks
 * every listed file on every server; a file name together with globs is refused in words.
 */
const DIRECTORY = ['source.type=existingClaim', 'source.existingClaim=models', 'source.file='];

function fetcher(objects: K8sObject[]): Container {
  const c = fetcherJob<JobObject>(objects).spec.template.spec.containers.find((x) => x.name === 'fetcher');
  if (c === undefined) throw new Error('the Job has no fetcher container');
  return c;
}
const testArgs = (objects: K8sObject[]): string[] =>
  (findObject(objects, 'Pod', '-check-servers') as K8sObject & { spec: { containers: Container[] } }).spec.containers[0].args ?? [];

describe('a directory source without fetcher.file', () => {
  it('renders a set fetch: the output directory, no MSD_FILE, no globs, and a helm test of every file', () => {
    const objects = renderChart({ set: DIRECTORY });
    expect(objects.flatMap(validateObject)).toEqual([]);
    const c = fetcher(objects);
    expect(envValue(c, 'MSD_OUTPUT')).toBe('/out/');
    expect(c.env?.map((e) => e.name)).not.toEqual(expect.arrayContaining(['MSD_FILE']));
    expect(c.env?.map((e) => e.name).filter((n) => /^MSD_(IN|EX)CLUDE$/.test(n))).toEqual([]);
    expect(c.volumeMounts?.find((m) => m.mountPath === '/out')).toMatchObject({ name: 'out' });
    expect(c.volumeMounts?.find((m) => m.mountPath === '/out')?.readOnly).toBeUndefined();
    expect(testArgs(objects)).toContain('--all-files=true');
    expect(testArgs(objects).filter((a) => a.startsWith('--file='))).toEqual([]);
  });

  it('passes include and exclude to the fetcher, comma-joined in their order', () => {
    const objects = renderChart({ set: [...DIRECTORY, 'fetcher.include={*.json,weights/**}', 'fetcher.exclude={**/*.tmp}'] });
    const c = fetcher(objects);
    expect(envValue(c, 'MSD_INCLUDE')).toBe('*.json,weights/**');
    expect(envValue(c, 'MSD_EXCLUDE')).toBe('**/*.tmp');
    expect(envValue(c, 'MSD_FILE')).toBeUndefined();
  });

  it('names a new Job when the globs change (the Job name hashes its spec), and keeps it when they do not', () => {
    const name = (set: string[]): string => fetcherJob(renderChart({ set: [...DIRECTORY, ...set] })).metadata.name;
    const a = name(['fetcher.include={*.json}']);
    expect(name(['fetcher.include={*.json}'])).toBe(a);
    expect(name(['fetcher.include={*.bin}'])).not.toBe(a);
    expect(name(['fetcher.include={*.json}', 'fetcher.exclude={x/*}'])).not.toBe(a);
    expect(name([])).not.toBe(a);
  });

  it('still fetches one file of the directory when fetcher.file names it', () => {
    const objects = renderChart({ set: [...DIRECTORY, 'fetcher.file=weights/model.bin'] });
    expect(envValue(fetcher(objects), 'MSD_FILE')).toBe('weights/model.bin');
    expect(testArgs(objects)).toContain('--file=weights/model.bin');
    expect(testArgs(objects)).not.toContain('--all-files=true');
  });

  it.each([
    ['fetcher.file with include', [...DIRECTORY, 'fetcher.file=a.bin', 'fetcher.include={*.json}'], /fetcher\.file="a\.bin" and fetcher\.include\/exclude are both set: name one file, or leave fetcher\.file empty/],
    ['fetcher.file with exclude', [...DIRECTORY, 'fetcher.file=a.bin', 'fetcher.exclude={*.tmp}'], /fetcher\.file="a\.bin" and fetcher\.include\/exclude are both set/],
    ['globs against a single-file source', ['fetcher.include={*.json}'], /fetcher\.include\/exclude choose files of a directory, but source\.file="demo\.bin" makes the servers serve one file/],
  ])('refuses %s, in the chart\'s words', (_what, set, message) => {
    const r = tryHelmTemplate({ set });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['a glob with a comma (the list is passed comma-joined)', 'fetcher.include={a\\,b}', /fetcher\/include\/0.*does not match pattern/],
    ['an empty glob', 'fetcher.exclude[0]=', /fetcher\/exclude\/0.*minLength/],
  ])('refuses %s in the schema', (_what, set, message) => {
    const r = tryHelmTemplate({ set: [...DIRECTORY, set] });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
