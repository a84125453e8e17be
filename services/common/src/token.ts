/** The shared token, from a value or a file (a mounted Secret); read once at start. */
import { readFileSync } from 'node:fs';
import { MsdError } from './errors';

export function resolveToken(token: string, tokenFile: string): string | undefined {
  if (token && tokenFile) throw new MsdError('E_CONFIG', 'token (--token, MSD_TOKEN) and token-file (--token-file, MSD_TOKEN_FILE) are both set; give one');
  if (tokenFile) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new MsdError('E_CONFIG', `token-file (--token-file, MSD_TOKEN_FILE): cannot read ${tokenFile}: ${(err as Error).message}`);
    }
    if (!text) throw new MsdError('E_CONFIG', `token-file (--token-file, MSD_TOKEN_FILE): ${tokenFile} is empty`);
    return text;
  }
  return token || undefined;
}
