/**
 * Test PKI made with the real `openssl` binary in a temp dir: a CA, a server certificate for
 * 127.0.0.1 / localhost signed by it, a client certificate signed by it (for mutual TLS), and a
 * second, unrelated CA with its own client certificate (what a stranger would present).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed none of the above. */
  otherCaCert: string;
  /** A client certificate signed by the other CA. */
  otherClientCert: string;
  otherClientKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '2',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function makeLeaf(dir: string, name: string, ca: string, extensions: string[]): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-sha256', '-days', '2',
    '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** Generates the whole PKI into `dir` (which must exist); takes well under a second with EC keys. */
export function makeTestPki(dir: string): TestPki {
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'test-ca', [
    'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  const clientExt = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];
  makeLeaf(dir, 'client', 'test-ca', clientExt);
  makeLeaf(dir, 'other-client', 'other-ca', clientExt);
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caCert: f('test-ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    otherCaCert: f('other-ca.pem'),
    otherClientCert: f('other-client.pem'),
    otherClientKey: f('other-client.key'),
  };
}
