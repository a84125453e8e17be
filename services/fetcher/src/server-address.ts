/** Server addresses: `host:port`, `[v6]:port`, or the original `-a HOST -p P...` form. */
import { MsdError } from '@msd/common';

export interface ServerAddress { host: string; port: number; label: string }

export function parseAddress(text: string): ServerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  if (!m) throw new MsdError('E_CONFIG', `servers (--servers, MSD_SERVERS): "${text}" is not host:port (IPv6: [addr]:port)`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new MsdError('E_CONFIG', `servers (--servers, MSD_SERVERS): port ${port} in "${text}" is not between 1 and 65535`);
  return { host: m[1], port, label: text };
}

export function resolveServers(servers: string[], host: string, ports: number[]): ServerAddress[] {
  const out = [...servers.map(parseAddress), ...ports.map((port) => ({ host, port, label: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` }))];
  if (out.length === 0) throw new MsdError('E_CONFIG', 'no servers given: use -p PORT... (with -a HOST) or --servers host:port,...');
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.label)) throw new MsdError('E_CONFIG', `server ${s.label} is listed twice`);
    seen.add(s.label);
  }
  return out;
}
