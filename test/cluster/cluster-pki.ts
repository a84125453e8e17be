import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The certificates and keys of one throwaway control plane, made with the real `openssl` in its
 * directory: a cluster CA (also the signer of the controller-manager's CSR controller), the API
 * server's serving certificate, client certificates whose subjects carry the identities RBAC knows
 * (system:masters for the admin, system:kube-controller-manager, system:kube-scheduler), and the
 * service-account signing key pair. EC keys: the whole set takes well under a second.
 */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  clients: Record<ClientIdentity, { cert: string; key: string }>;
}

export type ClientIdentity = 'admin' | 'controller-manager' | 'scheduler';
const SUBJECTS: Record<ClientIdentity, string> = {
  admin: '/O=system:masters/CN=msd-test-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
};

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`CLUSTER_PKI_OPENSSL: openssl ${args[0]} failed (is openssl installed? make deps-test installs it): ${e.stderr?.toString() ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256'];

function issue(dir: string, name: string, subject: string, extensions: string[]): { cert: string; key: string } {
  openssl(dir, ['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(path.join(dir, `${name}.ext`), `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...extensions].join('\n')}\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-sha256', '-days', '7', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** Generates the set into `dir` (which must exist). `serviceIp` is the first address of the service range. */
export function makeClusterPki(dir: string, serviceIp: string): ClusterPki {
  openssl(dir, ['req', '-x509', ...EC_KEY, '-days', '7', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=msd-test-cluster-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const server = issue(dir, 'apiserver', '/CN=kube-apiserver', [
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
  ]);
  const clients = Object.fromEntries(
    (Object.keys(SUBJECTS) as ClientIdentity[]).map((id) => [id, issue(dir, id, SUBJECTS[id], ['extendedKeyUsage=clientAuth'])]),
  ) as ClusterPki['clients'];
  // Service-account tokens are signed with RSA (RS256 is what every verifier accepts).
  openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key']);
  openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    serverCert: server.cert,
    serverKey: server.key,
    serviceAccountKey: path.join(dir, 'sa.key'),
    serviceAccountPub: path.join(dir, 'sa.pub'),
    clients,
  };
}
