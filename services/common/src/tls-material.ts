/** TLS material as the programs hold it once read from the files the settings name (PEM bytes). */

/** A listener's side: its key and certificate, and the CA client certificates must chain to (mutual TLS). */
export interface ServerTlsMaterial {
  key: Buffer;
  cert: Buffer;
  clientCa?: Buffer;
}

/** A client's side: the CA the server must chain to (default: the system's), its own pair for mutual TLS. */
export interface ClientTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The name to verify in the server's certificate (default: the host dialled). */
  servername?: string;
}
