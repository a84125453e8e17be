/**
 * A local read failure while verifying is the disk's, never the server's: the Verifier rejects
 * with E_IO (exit 5), it does not answer "bad digest" (which would blame the server, exit 6).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitCode, MsdError } from '@msd/common';
import { Verifier } from './verifier';

test('a read error on the part file rejects with E_IO naming the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-verify-err-'));
  // a directory opens for reading on Linux, and every read of it fails with EISDIR
  const v = new Verifier(1);
  try {
    const err = await v.verify(dir, 0, 1024, Buffer.alloc(32)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MsdError);
    expect((err as MsdError).code).toBe('E_IO');
    expect((err as MsdError).exitCode).toBe(ExitCode.IO);
    expect((err as MsdError).message).toMatch(new RegExp(`cannot read back ${dir.replace(/[.]/g, '\\.')}: is a directory`));
  } finally {
    await v.close();
    fs.rmSync(dir, { recursive: true });
  }
});

test('a short read (the part file cut under it) is a bad digest, not an error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msd-verify-err-'));
  const file = path.join(dir, 'part');
  fs.writeFileSync(file, Buffer.alloc(100));
  const v = new Verifier(1);
  try {
    await expect(v.verify(file, 0, 1024, Buffer.alloc(32))).resolves.toBe(false);
  } finally {
    await v.close();
    fs.rmSync(dir, { recursive: true });
  }
});
