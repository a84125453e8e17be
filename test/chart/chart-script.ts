import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CHART_DIR } from './helm';

/** Runs one of the chart's files/*.js scripts under this node; resolves with its exit code and stdout+stderr. */
export function runChartScript(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(CHART_DIR, 'files', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}
