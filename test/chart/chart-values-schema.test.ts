import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, CI_DIR, tryHelmTemplate } from './helm';

/** values.schema.json covers every value and refuses bad ones with a message naming the value. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  description?: string;
  $ref?: string;
}
const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as Schema & { $defs: Record<string, Schema> };
const values = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;

function describedPaths(value: unknown, s: Schema, at: string, missing: string[]): void {
  const resolved = s.$ref ? (schema.$defs[s.$ref.replace('#/$defs/', '')] as Schema) : s;
  if (!resolved.properties || value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const sub = resolved.properties[key];
    if (!sub) missing.push(`${at}${key}`);
    else describedPaths(v, sub, `${at}${key}.`, missing);
  }
}

describe('values.schema.json', () => {
  it('describes every value in values.yaml and closes every object', () => {
    const missing: string[] = [];
    describedPaths(values, schema, '', missing);
    expect(missing).toEqual([]);
    const open: string[] = [];
    const walk = (s: Schema, at: string): void => {
      if (s.properties) {
        if (s.additionalProperties !== false) open.push(at || '(root)');
        for (const [k, sub] of Object.entries(s.properties)) walk(sub, `${at}.${k}`);
      }
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  const defaults = path.join(CI_DIR, 'default-values.yaml');
  it.each([
    ['0 replicas', ['segmentServer.replicas=0'], /segmentServer\/replicas.*minimum: got 0, want 1/],
    ['a port out of range', ['segmentServer.port=70000'], /segmentServer\/port.*maximum: got 70,000, want 65,535/],
    ['a gRPC port of 0', ['segmentServer.grpcPort=0'], /segmentServer\/grpcPort.*minimum: got 0, want 1/],
    ['a missing file source', ['source.existingClaim='], /source\/existingClaim.*minLength: got 0, want 1/],
    ['an unknown source type', ['source.type=s3'], /source\/type.*value must be one of 'existingClaim', 'hostPath', 'initContainer'/],
    ['a hostPath source without a path', ['source.type=hostPath'], /source\/hostPath.*minLength: got 0, want 1/],
    ['an init container without a command', ['source.type=initContainer', 'source.initContainer.image=busybox'], /source\/initContainer\/command.*minItems: got 0, want 1/],
    ['a misspelled value', ['segmentServer.replica=3'], /segmentServer.*additional properties 'replica' not allowed/],
    ['an OTEL variable without the OTEL_ prefix', ['fetcher.otel.HTTP_PROXY=x'], /fetcher\/otel.*additional properties 'HTTP_PROXY' not allowed/],
    ['a bad piece size', ['segmentServer.pieceSize=huge'], /segmentServer\/pieceSize.*does not match pattern/],
  ])('refuses %s with a message naming the value', (_what, set, message) => {
    const r = tryHelmTemplate({ valuesFiles: [defaults], set });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['servers serving a directory without fetcher.file', ['source.file='], /fetcher.file is required when source.file is empty/],
    ['base port + replicas beyond 65535', ['segmentServer.portPerReplica=true', 'segmentServer.port=65530', 'segmentServer.replicas=8'], /exceeds 65535 with portPerReplica/],
  ])('refuses %s in the templates with a clear message', (_what, set, message) => {
    const r = tryHelmTemplate({ valuesFiles: [defaults], set });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
