/** What one download is asked to do, built once from the settings (main.ts). */
import type { ClientTlsMaterial } from '@msd/common';
import type { ResumePolicy } from './resume-plan';
import type { ServerAddress } from './server-address';

export interface DownloadOptions {
  servers: ServerAddress[];
  /** One file of a served directory; '' for the servers' one file, or for the whole directory. */
  file: string;
  /** Which files of a served directory (globs on the relative path); empty: all. */
  include: readonly string[];
  exclude: readonly string[];
  output: string;
  resume: boolean;
  onBadState: ResumePolicy;
  connectionsPerServer: number;
  pipeline: number;
  stateIntervalMs: number;
  stallTimeoutMs: number;
  steal: boolean;
  verify: boolean;
  /** fdatasync before state saves and the final rename (power-loss safety). */
  fsync: boolean;
  /** Download again even when the output exists and matches the servers. */
  force: boolean;
  /** Read the whole part file back and check every piece before the final rename. */
  verifyOutput: boolean;
  token?: string;
  tls?: ClientTlsMaterial;
  traceparent?: string;
  connectTimeoutMs: number;
  giveUpAfterMs: number;
  readBufferSize?: number;
}
