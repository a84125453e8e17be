import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, tryHelmTemplate } from './helm';

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

/** Objects left open on purpose: what a parent chart shares with its subcharts. */
const CONVENTIONALLY_OPEN = ['.global'];

describe('values.schema.json', () => {
  it('describes every value in values.yaml and closes every object but the conventional extension points', () => {
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
    expect(open).toEqual(CONVENTIONALLY_OPEN);
  });

  it.each([
    ['0 replicas', ['segmentServer.replicas=0'], /segmentServer\/replicas.*minimum: got 0, want 1/],
    ['a port out of range', ['segmentServer.port=70000'], /segmentServer\/port.*maximum: got 70,000, want 65,535/],
    ['a gRPC port of 0', ['segmentServer.grpcPort=0'], /segmentServer\/grpcPort.*minimum: got 0, want 1/],
    ['an unknown source type', ['source.type=s3'], /source\/type.*value must be one of 'demo', 'existingClaim', 'http', 'image', 'hostPath', 'initContainer'/],
    ['a misspelled value of ours', ['segmentServer.replica=3'], /segmentServer.*additional properties 'replica' not allowed/],
    ['a misspelled top-level value', ['sourc.type=http'], /at '': additional properties 'sourc' not allowed/],
    ['an OTEL variable without the OTEL_ prefix', ['fetcher.otel.HTTP_PROXY=x'], /fetcher\/otel.*additional properties 'HTTP_PROXY' not allowed/],
    ['a bad piece size', ['segmentServer.pieceSize=huge'], /segmentServer\/pieceSize.*does not match pattern/],
    ['a SHA-256 that is not 64 hex digits', ['source.http.sha256=abc'], /source\/http\/sha256.*does not match pattern/],
    ['an image digest without sha256:', ['fetcher.image.digest=md5:12ab'], /fetcher\/image\/digest.*does not match pattern/],
    ['a demo size with a unit Kubernetes has but the generator lacks', ['source.demo.size=1G'], /source\/demo\/size.*does not match pattern/],
  ])('refuses %s with a message naming the value', (_what, set, message) => {
    const r = tryHelmTemplate({ set });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    ['an existingClaim source without a claim', ['source.type=existingClaim'], /source\.existingClaim is empty: name the PersistentVolumeClaim/],
    ['an http source without a URL', ['source.type=http', `source.http.sha256=${'a'.repeat(64)}`], /source\.http\.url "" is not an http:\/\/ or https:\/\/ URL/],
    ['an http source without a digest', ['source.type=http', 'source.http.url=https://example.org/f'], /source\.http\.sha256 "" is not a SHA-256 digest: give the 64 hex digits/],
    ['an http source without a file name', ['source.type=http', 'source.file=', 'source.http.url=https://example.org/f', `source.http.sha256=${'a'.repeat(64)}`], /source\.file is empty: source\.type=http writes one file/],
    ['an image source without a reference', ['source.type=image'], /source\.image\.reference is empty/],
    ['a hostPath source without a path', ['source.type=hostPath'], /source\.hostPath is empty: give the node directory/],
    ['an init container without a command', ['source.type=initContainer', 'source.initContainer.image=busybox'], /source\.initContainer\.image and source\.initContainer\.command are required/],
    ['base port + replicas beyond 65535', ['segmentServer.portPerReplica=true', 'segmentServer.port=65530', 'segmentServer.replicas=8'], /exceeds 65535 with portPerReplica/],
    ['annotations for a ServiceAccount the chart does not create', ['serviceAccount.create=false', 'serviceAccount.annotations.a=b'], /serviceAccount\.annotations are set but serviceAccount\.create is false/],
  ])('refuses %s in the templates, in the chart\'s words', (_what, set, message) => {
    const r = tryHelmTemplate({ set });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses an image source on a cluster older than 1.33, naming the alternative', () => {
    const r = tryHelmTemplate({ set: ['source.type=image', 'source.image.reference=r.example/data:1'], kubeVersion: '1.31.0' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/source\.type=image needs Kubernetes 1\.33 .* use source\.type=http or existingClaim/);
  });

  it('installs with no values at all, and accepts what a parent chart puts in global', () => {
    expect(tryHelmTemplate({}).status).toBe(0);
    const r = tryHelmTemplate({ set: ['global.storageClass=fast', 'global.postgresql.auth.username=x', 'global.imageRegistry=mirror.example/msd'] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
