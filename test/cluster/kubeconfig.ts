import { writeFileSync } from 'node:fs';

/**
 * Writes a kubeconfig with one cluster, one user (client certificate) and one context, all named
 * `name`, current. JSON is valid YAML, and every kubeconfig reader (helm, kubectl, client-go) takes it.
 */
export function writeKubeconfig(file: string, name: string, server: string, caCert: string, clientCert: string, clientKey: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority': caCert } }],
    users: [{ name, user: { 'client-certificate': clientCert, 'client-key': clientKey } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}
