/** Instance addresses: `local:///abs/path/local.sock` or `tcp://host:port`. */
import { invalid } from '../errors/index.js';

export type UriTarget = { kind: 'local'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseUri(uri: string): UriTarget {
  if (uri.startsWith('local://')) {
    const path = uri.slice('local://'.length);
    if (!path.startsWith('/')) throw invalid(`bad URI "${uri}": a local URI needs an absolute socket path, e.g. local:///tmp/fractal-1/local.sock`);
    return { kind: 'local', path };
  }
  const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(uri);
  if (m) return { kind: 'tcp', host: m[1]!, port: Number(m[2]) };
  throw invalid(`bad URI "${uri}": expected local:///path/to/local.sock or tcp://host:port`);
}

export function localUri(path: string): string {
  return `local://${path}`;
}
