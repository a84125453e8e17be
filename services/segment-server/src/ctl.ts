import {
  ControlClient,
  ctlUsageError,
  formatBytes,
  formatRateLimit,
  formatTable,
  parseSize,
  processIo,
  runCtlProgram,
  SEGMENT_SERVER_CONTROL,
  CTL_EXIT,
  type CtlCommand,
  type CtlIo,
  type SegmentServerControlMessages as M,
} from '@msd/common';

type Client = ControlClient<M.SegmentServerControlMethods>;

const commands: CtlCommand<Client>[] = [
  {
    name: 'status',
    summary: 'file, pieces, content ID, and per listener: connections, bytes, rate limit, transfers',
    async run({ client, json, io }) {
      const { status } = await client.call('GetStatus', {});
      io.out(json ? `${JSON.stringify(status)}\n` : formatStatus(status));
      return CTL_EXIT.OK;
    },
  },
  {
    name: 'drain',
    summary: 'stop taking new transfers, finish running ones, report NOT_SERVING',
    flags: { 'exit-when-idle': 'boolean' },
    async run({ client, flags, json, io }) {
      const exitWhenIdle = flags.has('exit-when-idle');
      const response = await client.call('Drain', { exit_when_idle: exitWhenIdle });
      io.out(
        json
          ? `${JSON.stringify(response)}\n`
          : `draining: ${response.active_transfers} transfer(s) still running${exitWhenIdle ? '; the process exits when they finish' : ''}\n`,
      );
      return CTL_EXIT.OK;
    },
  },
  {
    name: 'rate-limit',
    args: ['BYTES_PER_SECOND'],
    summary: 'per-listener send rate (e.g. 10MiB; 0 = unlimited); all listeners unless --server-id',
    flags: { 'server-id': 'string' },
    async run({ client, args, flags, json, io }) {
      const bytes = parseSize(args[0] ?? '');
      if (bytes === undefined) throw ctlUsageError(`rate '${args[0]}' is not a size (bytes, or e.g. 512KiB, 10MiB, 1GB)`);
      const idFlag = flags.get('server-id');
      const serverId = typeof idFlag === 'string' ? Number(idFlag) : undefined;
      if (serverId !== undefined && !(Number.isInteger(serverId) && serverId >= 0)) {
        throw ctlUsageError(`--server-id must be a non-negative integer (got ${String(idFlag)})`);
      }
      const request: M.SetRateLimitRequest = serverId === undefined ? { bytes_per_second: bytes } : { server_id: serverId, bytes_per_second: bytes };
      const response = await client.call('SetRateLimit', request);
      io.out(
        json
          ? `${JSON.stringify(response)}\n`
          : formatTable([['SERVER', 'RATE LIMIT'], ...response.listeners.map((l) => [String(l.server_id), formatRateLimit(l.rate_limit)])]) + '\n',
      );
      return CTL_EXIT.OK;
    },
  },
  {
    name: 'list-files',
    summary: 'files served (directory mode), with size and content ID',
    async run({ client, json, io }) {
      const { files } = await client.call('ListFiles', {});
      io.out(
        json
          ? `${JSON.stringify(files)}\n`
          : formatTable([['NAME', 'SIZE', 'CONTENT ID'], ...files.map((f) => [f.name, formatBytes(f.size), f.content_id])]) + '\n',
      );
      return CTL_EXIT.OK;
    },
  },
];

/** `segment-server ctl <command> --addr host:port ...`; returns the exit code. */
export function runCtl(argv: readonly string[], io: CtlIo = processIo): Promise<number> {
  return runCtlProgram(
    { name: 'segment-server', commands, connect: (address, options) => new ControlClient(address, SEGMENT_SERVER_CONTROL, options) },
    argv,
    io,
  );
}

function formatStatus(s: M.ServerStatusMessage): string {
  const state = !s.indexed ? 'indexing' : s.draining ? 'draining' : 'serving';
  const lines = [
    formatTable([
      ['file', s.file],
      ['size', `${formatBytes(s.size)} (${s.size} bytes)`],
      ['pieces', `${s.pieces} x ${formatBytes(s.piece_size)}`],
      ['content id', s.content_id || '-'],
      ['servers', `${s.num_servers} in the set`],
      ['state', state],
    ]),
    '',
    formatTable([
      ['SERVER', 'PORT', 'CONNS', 'REQUESTS', 'SENT', 'RATE LIMIT', 'STATE'],
      ...s.listeners.map((l) => [
        String(l.server_id),
        String(l.port),
        String(l.connections),
        String(l.requests),
        formatBytes(l.bytes_sent),
        formatRateLimit(l.rate_limit),
        l.draining ? 'draining' : 'open',
      ]),
    ]),
  ];
  const transfers = s.listeners.flatMap((l) => l.transfers.map((t) => ({ serverId: l.server_id, ...t })));
  if (transfers.length > 0) {
    lines.push(
      '',
      formatTable([
        ['SERVER', 'CLIENT', 'FILE', 'OFFSET', 'LENGTH', 'SENT'],
        ...transfers.map((t) => [String(t.serverId), t.client, t.file, String(t.offset), formatBytes(t.length), formatBytes(t.sent)]),
      ]),
    );
  }
  return lines.join('\n') + '\n';
}
