/** Reading a file named by a setting (certificates, keys), once at start, with an error that names the setting. */
import { readFileSync } from 'node:fs';
import { MsdError } from './errors';

export function readSettingFile(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MsdError('E_CONFIG', `invalid configuration: ${setting}: cannot read ${file}: ${(err as Error).message}`);
  }
}
