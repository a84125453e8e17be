import {
  ControlClient,
  CTL_EXIT,
  FETCHER_CONTROL,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  formatTable,
  processIo,
  runCtlProgram,
  type CtlCommand,
  type CtlIo,
  type FetcherControlMessages as M,
} from '@msd/common';

type Client = ControlClient<M.FetcherControlMethods, M.FetcherControlStreams>;

const commands: CtlCommand<Client>[] = [
  {
    name: 'progress',
    summary: 'totals, rate, ETA, per-segment progress; --watch follows until the end (exit 0 only if DONE)',
    flags: { watch: 'boolean' },
    async run({ client, flags, json, io }) {
      if (!flags.has('watch')) {
        const { progress } = await client.call('GetProgress', {});
        io.out(json ? `${progressJson(progress)}\n` : formatProgress(progress));
        return CTL_EXIT.OK;
      }
      let last: M.ProgressMessage | undefined;
      await client.stream('WatchProgress', { min_interval_ms: 0 }, ({ progress }) => {
        last = progress;
        io.out(json ? `${progressJson(progress)}\n` : `${progressLine(progress)}\n`);
      });
      return last?.state === 'DONE' ? CTL_EXIT.OK : CTL_EXIT.FAILED;
    },
  },
  stateCommand('pause', 'Pause', 'stop requesting data (connections stay open)'),
  stateCommand('resume', 'Resume', 'continue after pause'),
  {
    name: 'cancel',
    summary: 'stop the download and save its resume state (a later run continues it)',
    async run({ client, json, io }) {
      const response = await client.call('Cancel', {});
      io.out(
        json ? `${JSON.stringify(response)}\n` : `${response.state}: ${formatBytes(response.bytes_done)} verified and kept for resume\n`,
      );
      return CTL_EXIT.OK;
    },
  },
];

/** A command that calls a state-changing method and prints the state it leads to. */
function stateCommand(name: string, method: 'Pause' | 'Resume', summary: string): CtlCommand<Client> {
  return {
    name,
    summary,
    async run({ client, json, io }) {
      const response = await client.call(method, {});
      io.out(json ? `${JSON.stringify(response)}\n` : `${response.state}\n`);
      return CTL_EXIT.OK;
    },
  };
}

/** `fetcher ctl <command> --addr host:port ...`; returns the exit code. */
export function runCtl(argv: readonly string[], io: CtlIo = processIo): Promise<number> {
  return runCtlProgram(
    { name: 'fetcher', commands, connect: (address, options) => new ControlClient(address, FETCHER_CONTROL, options) },
    argv,
    io,
  );
}

/** The message as received, without the null the loader puts in `set` for a single file (that output stays as it was). */
function progressJson(p: M.ProgressMessage): string {
  const { set, ...single } = p;
  return JSON.stringify(set ? p : single);
}

function progressLine(p: M.ProgressMessage): string {
  return [
    p.state.padEnd(11),
    formatPercent(p.bytes_done, p.size).padStart(6),
    `${formatBytes(p.bytes_done)} / ${formatBytes(p.size)}`,
    formatRate(p.bytes_per_second),
    `ETA ${formatDuration(p.eta_seconds)}`,
    ...(p.set ? [`files ${p.set.files_complete}/${p.set.files}`] : []),
  ].join('  ');
}

function formatProgress(p: M.ProgressMessage): string {
  const { set } = p;
  const summary = formatTable([
    // a set has no file name of its own (file is ''): its output is the directory
    set ? ['output', p.output] : ['file', p.output ? `${p.file} -> ${p.output}` : p.file],
    ['state', p.state],
    ['done', `${formatPercent(p.bytes_done, p.size)}  ${formatBytes(p.bytes_done)} of ${formatBytes(p.size)}, pieces ${p.pieces_done}/${p.pieces}`],
    ['rate', `${formatRate(p.bytes_per_second)}, ETA ${formatDuration(p.eta_seconds)}`],
    ...(set ? [['files', `${set.files_complete}/${set.files} complete`]] : []),
  ]);
  const files = set && set.in_flight.length > 0 ? `\n${formatFilesInFlight(set.in_flight)}` : '';
  if (p.segments.length === 0) return `${summary}${files}\n`;
  const segments = formatTable([
    ['SEGMENT', 'RANGE', 'DONE', 'RATE', 'SERVER'],
    ...p.segments.map((s) => [
      String(s.segment),
      `${s.start}-${s.end}`,
      `${formatPercent(s.bytes_done, s.end - s.start)} ${formatBytes(s.bytes_done)}`,
      formatRate(s.bytes_per_second),
      `${s.server_id} ${s.server}`,
    ]),
  ]);
  return `${summary}${files}\n\n${segments}\n`;
}

/** One indented line per file in flight, under the files count: name, percent, bytes. */
function formatFilesInFlight(files: readonly M.FileInFlightMessage[]): string {
  return formatTable(files.map((f) => [`  ${f.name}`, formatPercent(f.bytes_done, f.size), `(${formatBytes(f.bytes_done)} of ${formatBytes(f.size)})`]));
}
