/**
 * The independent client: Debian's python3-grpcio (C core), with stubs generated
 * by grpc_tools.protoc from Debian's grpc-proto (or the grpc-health-check copy).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FetcherControlMessages } from '@msd/common';
import { protoPath as npmHealthProto } from 'grpc-health-check';

type SetProgressMessage = FetcherControlMessages.SetProgressMessage;

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, '../python/grpc_probe.py');
const DEBIAN_PROTOS = '/usr/share/grpc-proto/grpc';

export class PythonGrpcProbe {
  private constructor(private readonly stubDir: string) {}

  /** Generates the stubs (flat, each with -I on its own folder) into a temp dir. */
  static create(): PythonGrpcProbe {
    const stubDir = mkdtempSync(path.join(tmpdir(), 'msd-pygrpc-'));
    const health = existsSync(`${DEBIAN_PROTOS}/health/v1/health.proto`) ? `${DEBIAN_PROTOS}/health/v1/health.proto` : npmHealthProto;
    const protos = [health, `${DEBIAN_PROTOS}/reflection/v1/reflection.proto`];
    for (const proto of protos) {
      execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${path.dirname(proto)}`, `--python_out=${stubDir}`, `--grpc_python_out=${stubDir}`, path.basename(proto)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
    return new PythonGrpcProbe(stubDir);
  }

  check(address: string, service = ''): Promise<{ status?: string; error?: string; code?: string }> {
    return this.run([address, 'check', service]);
  }

  reflect(address: string, symbols: string[]): Promise<{ services: string[]; methods: Record<string, string[]> }> {
    return this.run([address, 'reflect', ...symbols]);
  }

  /** GetProgress decoded by python's protobuf from the descriptors served by reflection. */
  progress(address: string, service: string): Promise<{ has_set: boolean; file: string; size: number; set: SetProgressMessage | null }> {
    return this.run([address, 'progress', service]);
  }

  dispose(): void {
    rmSync(this.stubDir, { recursive: true, force: true });
  }

  private run<T>(args: string[]): Promise<T> {
    return new Promise((resolve, reject) => {
      execFile(PYTHON, [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin', PYTHONPATH: this.stubDir }, timeout: 20000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`python grpc probe failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      });
    });
  }
}
