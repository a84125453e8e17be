import {
  FETCHER_CONTROL,
  MAX_FILES_IN_FLIGHT_SHOWN,
  serviceDefinition,
  startGrpcServer,
  Throttle,
  unaryHandler,
  type FetcherControlMessages as M,
  type FetcherControlTarget,
  type FetcherProgress,
  type FetcherState,
  type GrpcRegistration,
  type SetProgress,
  type StreamingHandlers,
  type UnaryHandlers,
} from '@msd/common';
import { isFinal } from './model';
import type { ServerWritableStream } from '@grpc/grpc-js';

export interface FetcherControlOptions {
  /** address of the gRPC listener (the metrics/gRPC bind address) */
  bind: string;
  /** --grpc-port; 0 = any free port */
  port: number;
  /** mutating calls (Pause, Resume, Cancel) need it when set */
  token?: string;
  /** counts refused calls (metrics) */
  onAuthFailure?: (method: string) => void;
  target: FetcherControlTarget;
}

export interface FetcherControl {
  readonly port: number;
  /** Sends the final progress to every WatchProgress stream and ends them, then stops the server. */
  close(graceMs?: number): Promise<void>;
}

/** WatchProgress: default and smallest interval between two messages. */
export const WATCH_DEFAULT_INTERVAL_MS = 250;
export const WATCH_MIN_INTERVAL_MS = 50;
/** Health follows the state at most this often (onChange may fire per chunk). */
const HEALTH_INTERVAL_MS = 100;

/** Health per state: SERVING while the download moves (or was paused on purpose, or is done). */
export function isServingState(state: FetcherState): boolean {
  return state === 'DOWNLOADING' || state === 'PAUSED' || state === 'DONE';
}

/**
 * gRPC listener of a fetcher: grpc.health.v1 (following the target's state
 * through onChange), reflection and msd.fetcher.v1.FetcherControl.
 */
export async function startFetcherControl(options: FetcherControlOptions): Promise<FetcherControl> {
  const { target } = options;
  let health: GrpcRegistration['health'] | undefined;
  const publishHealth = new Throttle(() => {
    const serving = isServingState(target.progress().state);
    health?.setServing('', serving);
    health?.setServing(FETCHER_CONTROL.service, serving);
  }, HEALTH_INTERVAL_MS);

  const handle = await startGrpcServer({
    bind: options.bind,
    port: options.port,
    token: options.token,
    onAuthFailure: options.onAuthFailure,
    services: [FETCHER_CONTROL],
    register(registration) {
      health = registration.health;
      const unary: UnaryHandlers<M.FetcherControlMethods> = {
        GetProgress: unaryHandler(() => ({ progress: toProgressMessage(target.progress()) })),
        Pause: registration.auth.guard(
          'Pause',
          unaryHandler(() => {
            target.pause();
            return { state: target.progress().state };
          }),
        ),
        Resume: registration.auth.guard(
          'Resume',
          unaryHandler(() => {
            target.resume();
            return { state: target.progress().state };
          }),
        ),
        Cancel: registration.auth.guard(
          'Cancel',
          unaryHandler(async () => {
            await target.cancel();
            const progress = target.progress();
            return { state: progress.state, bytes_done: progress.bytesDone };
          }),
        ),
      };
      const streaming: StreamingHandlers<M.FetcherControlStreams> = {
        WatchProgress: (call) => watchProgress(call, target, registration),
      };
      registration.server.addService(serviceDefinition(registration.packageDefinition, FETCHER_CONTROL.service), {
        ...unary,
        ...streaming,
      });
    },
  });
  const unsubscribe = target.onChange(() => publishHealth.trigger());
  publishHealth.trigger();
  return {
    port: handle.port,
    close(graceMs) {
      unsubscribe();
      publishHealth.cancel();
      return handle.close(graceMs);
    },
  };
}

/**
 * Sends the progress now, then on every change at most every interval, and
 * ends the stream after the message that shows a final state (or when the
 * server closes, after one last message).
 */
function watchProgress(
  call: ServerWritableStream<M.WatchProgressRequest, M.ProgressResponse>,
  target: FetcherControlTarget,
  registration: GrpcRegistration,
): void {
  const requested = call.request.min_interval_ms;
  const interval = requested === 0 ? WATCH_DEFAULT_INTERVAL_MS : Math.max(WATCH_MIN_INTERVAL_MS, requested);
  let ended = false;
  const stop = (): void => {
    ended = true;
    throttle.cancel();
    unsubscribe();
    forget();
  };
  const send = (): void => {
    if (ended) return;
    const progress = target.progress();
    call.write({ progress: toProgressMessage(progress) });
    if (isFinal(progress.state)) {
      stop();
      call.end();
    }
  };
  const throttle = new Throttle(send, interval);
  const unsubscribe = target.onChange(() => throttle.trigger());
  const forget = registration.onClose(() => {
    send();
    if (!ended) {
      stop();
      call.end();
    }
  });
  call.on('cancelled', stop);
  throttle.trigger();
}

export function toProgressMessage(p: FetcherProgress): M.ProgressMessage {
  return {
    file: p.file,
    output: p.output,
    size: p.size,
    bytes_done: p.bytesDone,
    pieces_done: p.piecesDone,
    pieces: p.pieces,
    bytes_per_second: p.bytesPerSecond,
    eta_seconds: p.etaSeconds,
    state: p.state,
    segments: p.segments.map((s) => ({
      segment: s.segment,
      start: s.start,
      end: s.end,
      bytes_done: s.bytesDone,
      bytes_per_second: s.bytesPerSecond,
      server_id: s.serverId,
      server: s.server,
    })),
    // left out for a single file: an empty SetProgress would read as a set of 0 files
    ...(p.set && { set: toSetProgressMessage(p.set) }),
  };
}

function toSetProgressMessage(set: SetProgress): M.SetProgressMessage {
  return {
    files: set.files,
    files_complete: set.filesComplete,
    // the cap holds on the wire whatever the target hands over: the message stays small for any set
    in_flight: set.inFlight.slice(0, MAX_FILES_IN_FLIGHT_SHOWN).map((f) => ({ name: f.name, size: f.size, bytes_done: f.bytesDone })),
  };
}
