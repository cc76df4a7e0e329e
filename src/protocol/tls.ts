/**
 * TLS for the overlay between brokers over TCP: TLS 1.3, both sides present a
 * certificate signed by the instance's private CA (`fractal keygen DIR`) and
 * trust only that CA. Brokers are addressed by IP, so the peer's host name is
 * not checked: being signed by the instance CA is what identifies a broker.
 */
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { Connection } from './connection.js';
import { MAX_FRAME } from './limits.js';
import type { UriTarget } from './uri.js';

/** The instance's CA certificate and this broker's certificate and key, PEM. */
export interface OverlayTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The files `fractal keygen DIR` writes that a broker needs (ca.key stays with whoever signs). */
export const TLS_FILES = { ca: 'ca.crt', cert: 'broker.crt', key: 'broker.key' } as const;

/** Reads ca.crt, broker.crt and broker.key from `dir`; an error names the file and how to make it. */
export function loadOverlayTls(dir: string): OverlayTls {
  const read = (name: string): Buffer => {
    const f = join(dir, name);
    let b: Buffer;
    try {
      b = readFileSync(f);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      const why = code === 'ENOENT' ? 'is missing' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code})`;
      throw new FractalError(ErrorCodes.NOT_FOUND, `overlay TLS: ${f} ${why}; create the instance's keys with \`fractal keygen ${dir}\``);
    }
    if (!b.includes('-----BEGIN ')) throw new FractalError(ErrorCodes.CORRUPT, `overlay TLS: ${f} is not a PEM file; re-create the keys with \`fractal keygen --force ${dir}\``);
    return b;
  };
  const out = { ca: read(TLS_FILES.ca), cert: read(TLS_FILES.cert), key: read(TLS_FILES.key) };
  try {
    tls.createSecureContext({ ...out, minVersion: 'TLSv1.3' });
  } catch (e) {
    throw new FractalError(ErrorCodes.CORRUPT, `overlay TLS: the files in ${dir} do not make a usable key pair (${(e as Error).message}); re-create them with \`fractal keygen --force ${dir}\``);
  }
  return out;
}

/** Options for the overlay's TLS server: only peers with a certificate from the instance CA get through the handshake. */
export function tlsServerOptions(t: OverlayTls): tls.TlsOptions {
  return { ca: t.ca, cert: t.cert, key: t.key, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true };
}

/**
 * The chain was already verified against the instance CA (the only one trusted); the host name
 * is not checked, since brokers are addressed by IP.
 */
function acceptInstanceCert(_host: string, cert: tls.PeerCertificate): Error | undefined {
  return cert.raw ? undefined : new Error('the overlay peer presented no certificate');
}

/** Opens a TLS connection to a TCP overlay address; fails if the peer is not a broker of this instance. */
export function dialTls(target: Extract<UriTarget, { kind: 'tcp' }>, t: OverlayTls, opts: { maxFrame?: number } = {}): Promise<Connection> {
  const where = `tcp://${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: target.host, port: target.port, ca: t.ca, cert: t.cert, key: t.key,
      minVersion: 'TLSv1.3', rejectUnauthorized: true, checkServerIdentity: acceptInstanceCert,
    });
    const onError = (e: NodeJS.ErrnoException) => {
      const tlsFailure = !e.code || !/^E[A-Z]+$/.test(e.code) || e.code === 'ECONNRESET';
      reject(new FractalError(ErrorCodes.CONNECTION, tlsFailure
        ? `TLS handshake with ${where} failed: ${e.message}. Do both brokers use the keys of the same \`fractal keygen\` (-o tls-dir)?`
        : `cannot connect to ${where}: ${e.code ?? e.message}. Is the instance running?`));
    };
    sock.once('error', onError);
    sock.once('secureConnect', () => {
      sock.off('error', onError);
      resolve(new Connection(sock, { maxFrame: opts.maxFrame ?? MAX_FRAME }));
    });
  });
}
