/** What a fatal error becomes: one log line with a stable code, and the exit code it names. */
import * as net from 'node:net';
import { promises as fsp } from 'node:fs';
import { Writable } from 'node:stream';
import { ExitCode, MsdError } from './errors';
import { createLogger } from './logger';
import { reportFatal } from './run-program';

/** A JSON logger into memory; returns the logger and the lines it wrote. */
function memoryLog(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { log: createLogger({ name: 'prog', format: 'json', stream }), lines };
}

/** A real "address in use": listen twice on one port. */
async function addressInUse(): Promise<unknown> {
  const a = net.createServer();
  await new Promise<void>((r) => a.listen(0, '127.0.0.1', () => r()));
  const b = net.createServer();
  const err = await new Promise<unknown>((resolve) => { b.once('error', resolve); b.listen((a.address() as net.AddressInfo).port, '127.0.0.1'); });
  await new Promise((r) => a.close(r));
  return err;
}

describe('reportFatal', () => {
  it('an MsdError keeps its code and exit code', () => {
    const { log, lines } = memoryLog();
    expect(reportFatal('prog', new MsdError('E_CONFIG', 'bad setting'), log)).toBe(ExitCode.USAGE);
    expect(reportFatal('prog', new MsdError('E_IO', 'disk full'), log)).toBe(ExitCode.IO);
    expect(lines.map((l) => [l.level, l.msg, l.code])).toEqual([['error', 'bad setting', 'E_CONFIG'], ['error', 'disk full', 'E_IO']]);
  });

  it('a port in use is a setting to change: exit 2, naming what to change', async () => {
    const { log, lines } = memoryLog();
    expect(reportFatal('prog', await addressInUse(), log)).toBe(ExitCode.USAGE);
    expect(lines[0]).toMatchObject({ code: 'E_CONFIG', msg: expect.stringMatching(/^cannot listen: .*EADDRINUSE.*; choose another port/) });
  });

  it('a file that cannot be opened is not an address problem: internal, with the stack in the log', async () => {
    const { log, lines } = memoryLog();
    const err = await fsp.open('/proc/1/mem', 'r').then(() => undefined, (e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/^(EACCES|EPERM)$/);
    expect(reportFatal('prog', err, log)).toBe(ExitCode.INTERNAL);
    expect(lines[0]).toMatchObject({ code: 'E_INTERNAL', msg: expect.stringMatching(/^internal error: /), stack: expect.stringContaining('Error') });
  });

  it('anything else is internal (exit 1)', () => {
    const { log, lines } = memoryLog();
    expect(reportFatal('prog', new TypeError('x is undefined'), log)).toBe(ExitCode.INTERNAL);
    expect(reportFatal('prog', 'a string', log)).toBe(ExitCode.INTERNAL);
    expect(lines.map((l) => l.msg)).toEqual(['internal error: x is undefined', 'internal error: a string']);
  });
});
