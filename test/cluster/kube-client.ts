import * as https from 'node:https';
import { readFileSync } from 'node:fs';

/**
 * A small REST client for the test control plane: HTTPS with the admin client certificate, JSON in
 * and out. Not @kubernetes/client-node: that package is ESM-only from 1.0 on and jest (CommonJS
 * here) cannot load it; the handful of verbs the tests need fit in this file.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string; uid: string }>;
    deletionTimestamp?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
  };
  [field: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export interface Credentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

/** A refusal by the API server, with its Status reason and message (what tests assert on). */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API_REFUSED';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly apiMessage: string,
  ) {
    super(`KUBE_API_REFUSED: ${method} ${path} -> ${status} ${reason}: ${apiMessage}`);
  }
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(credentials: Credentials) {
    this.base = new URL(credentials.server);
    this.agent = new https.Agent({
      ca: readFileSync(credentials.ca),
      cert: readFileSync(credentials.cert),
      key: readFileSync(credentials.key),
      keepAlive: true,
      maxSockets: 16,
    });
  }

  /** One request; resolves with the decoded JSON body, rejects with KubeApiError on a non-2xx answer. */
  request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            if (status >= 200 && status < 300) resolve(json as T);
            else {
              const s = (json ?? {}) as { reason?: string; message?: string };
              reject(new KubeApiError(method, path, status, s.reason ?? 'Unknown', s.message ?? text.slice(0, 500)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  get<T extends KubeObject = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** The object, or undefined when the server says 404. */
  async find<T extends KubeObject = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject = KubeObject>(path: string, query: Record<string, string> = {}): Promise<KubeList<T>> {
    const qs = new URLSearchParams(query).toString();
    return this.request<KubeList<T>>('GET', qs ? `${path}?${qs}` : path);
  }

  create<T extends KubeObject = KubeObject>(path: string, object: unknown, query: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(query).toString();
    return this.request<T>('POST', qs ? `${path}?${qs}` : path, object);
  }

  patch<T extends KubeObject = KubeObject>(path: string, patch: unknown, type: PatchType = 'merge', query: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(query).toString();
    return this.request<T>('PATCH', qs ? `${path}?${qs}` : path, patch, PATCH_CONTENT_TYPE[type]);
  }

  async delete(path: string, options: { gracePeriodSeconds?: number; propagationPolicy?: string } = {}): Promise<void> {
    try {
      await this.request('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', ...options });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }

  /** Polls `probe` until it returns a value (not undefined); throws with `what` and the last state after timeoutMs. */
  async waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, describe?: () => Promise<string>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const state = describe ? await describe().catch((e: Error) => e.message) : '';
    throw new Error(`CLUSTER_WAIT_TIMEOUT: ${what} not reached within ${timeoutMs} ms${lastError ? `; last error: ${lastError}` : ''}${state ? `\n${state}` : ''}`);
  }

  close(): void {
    this.agent.destroy();
  }
}
