import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runChartScript } from './chart-script';

/**
 * files/fill-from-url.js (source.type=http) against a real HTTP server on 127.0.0.1: an interrupted
 * download continues with a Range request, a server that ignores Range gets a fresh download, and
 * failures name the value to fix. (Verification, the skip on restart and the wrong digest run in
 * chart-contract.test.ts, as the chart renders them.)
 */
const content = randomBytes(1024 * 1024 + 17);
const digest = createHash('sha256').update(content).digest('hex');

const run = (args: string[]): ReturnType<typeof runChartScript> => runChartScript('fill-from-url.js', args);

describe('fill-from-url.js', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'msd-fill-'));
  const ranges: string[] = [];
  let honourRange = true;
  let base = '';
  const server = http.createServer((req, res) => {
    if (req.url !== '/f.bin') {
      res.writeHead(404).end();
      return;
    }
    ranges.push(req.headers.range ?? '');
    const m = honourRange ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    const from = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'content-length': content.length - from });
    res.end(content.subarray(from));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each([
    ['honours Range: continues the partial download', true, 'bytes=400000-', /continued from byte 400000/],
    ['ignores Range: downloads the whole file again', false, 'bytes=400000-', /sha256 verified, in \d+ ms/],
  ])('when the server %s', async (_what, honour, sent, said) => {
    honourRange = honour;
    ranges.length = 0;
    const dir = mkdtempSync(path.join(scratch, 'vol-'));
    writeFileSync(path.join(dir, '.f.bin.download'), content.subarray(0, 400000));
    const r = await run([`--url=${base}/f.bin`, `--sha256=${digest}`, `--out=${dir}/f.bin`]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(said);
    expect(ranges).toEqual([sent]);
    expect(readFileSync(path.join(dir, 'f.bin')).equals(content)).toBe(true);
    expect(readFileSync(path.join(dir, 'f.bin.sha256'), 'utf8')).toBe(`${digest} ${content.length}\n`);
    expect(existsSync(path.join(dir, '.f.bin.download'))).toBe(false);
  });

  it('names source.http.url when the server answers 404, and keeps no marker', async () => {
    const dir = mkdtempSync(path.join(scratch, 'vol-'));
    const r = await run([`--url=${base}/missing.bin`, `--sha256=${digest}`, `--out=${dir}/f.bin`]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/GET .*\/missing\.bin answered 404 .*check source\.http\.url/);
    expect(existsSync(path.join(dir, 'f.bin.sha256'))).toBe(false);
  });

  it('refuses bad arguments with exit 2, naming the value', async () => {
    const r = await run(['--url=ftp://x', `--sha256=${digest}`, '--out=/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/--url must be an http:\/\/ or https:\/\/ URL \(source\.http\.url\)/);
  });
});
