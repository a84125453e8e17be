import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, HELM, KUBE_VERSION, renderChart } from './helm';

/** `helm package` makes a chart archive that lints and renders like the chart directory. */
describe('helm package', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-helm-package-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('packages the chart with its files, and the archive lints and renders the same objects', () => {
    const out = execFileSync(HELM, ['package', CHART_DIR, '--destination', scratch], { encoding: 'utf8' });
    const chart = parse(execFileSync(HELM, ['show', 'chart', CHART_DIR], { encoding: 'utf8' })) as { version: string };
    const archive = path.join(scratch, `multi-server-downloader-${chart.version}.tgz`);
    expect(out).toContain(archive);
    const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n');
    for (const f of ['values.schema.json', 'files/dashboard.json', 'files/alerts.yaml', 'files/check-servers.js', 'files/generate-demo.js', 'files/fill-from-url.js', 'templates/NOTES.txt']) {
      expect(listing).toContain(`multi-server-downloader/${f}`);
    }
    expect(execFileSync(HELM, ['lint', '--strict', archive, '--kube-version', KUBE_VERSION], { encoding: 'utf8' })).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    // (the generated token differs per render: compare without it)
    expect(renderChart({ chart: archive, set: ['auth.enabled=false'] })).toEqual(renderChart({ set: ['auth.enabled=false'] }));
  });
});
