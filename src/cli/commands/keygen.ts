/**
 * `fractal keygen DIR`: the keys of an instance's TCP overlay (-o tls-dir=DIR).
 * A private CA (ca.crt, ca.key) and one EC P-256 key pair signed by it that
 * every broker of the instance presents (broker.crt, broker.key), made by the
 * system's `openssl` (no shell). Files are first written to a temporary
 * directory inside DIR, then renamed into place: a failure leaves no half set.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';

export const OPENSSL = process.env['FRACTAL_OPENSSL'] ?? '/usr/bin/openssl';
const DAYS = '3650';
/** Every file keygen writes, with its mode: keys are for the owner only. */
export const KEYGEN_FILES = [['ca.crt', 0o644], ['ca.key', 0o600], ['broker.crt', 0o644], ['broker.key', 0o600]] as const;

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // An empty configuration: the certificates carry only the extensions asked for here, whatever the site's openssl.cnf says.
    execFile(OPENSSL, ['req', '-config', '/dev/null', ...args], { cwd, timeout: 60000 }, (err, _stdout, stderr) => {
      if (!err) return resolvePromise();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new FractalError(ErrorCodes.NOT_FOUND, `${OPENSSL} was not found: install OpenSSL (Debian: \`apt-get install openssl\`), or set FRACTAL_OPENSSL to its path`));
      reject(new FractalError(ErrorCodes.INTERNAL, `openssl ${args[0] === '-x509' ? 'req -x509' : 'req'} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

/** Creates the CA and the broker key pair in `dir`; returns the paths written. Refuses to replace files unless `force`. */
export async function keygen(dir: string, opts: { force?: boolean } = {}): Promise<string[]> {
  const d = resolve(dir);
  // Only DIR itself is created (not recursive: Node 20's recursive mkdir can spin on paths such as /proc/x).
  if (!existsSync(d)) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !existsSync(dirname(d))) throw new FractalError(ErrorCodes.NOT_FOUND, `cannot create ${d}: its parent ${dirname(d)} does not exist; create it first (mkdir -p ${dirname(d)})`);
      throw new FractalError(ErrorCodes.PERMISSION, `cannot create ${d} (${code ?? (e as Error).message}): choose a directory you can write, e.g. ~/.fractal/tls`);
    }
  }
  if (!statSync(d).isDirectory()) throw invalid(`${d} is not a directory: give a directory for the keys`);
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
  } catch {
    throw new FractalError(ErrorCodes.PERMISSION, `${d} is not writable by this user: choose another directory, or fix its permissions`);
  }
  const present = KEYGEN_FILES.map(([f]) => join(d, f)).filter((f) => existsSync(f));
  if (present.length > 0 && !opts.force) {
    throw new FractalError(ErrorCodes.BUSY, `${present.join(', ')} already exist${present.length === 1 ? 's' : ''}: brokers started with the old keys would not accept the new ones. Use --force to replace them, or another directory`);
  }
  const tmp = mkdtempSync(join(d, '.keygen-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', DAYS];
    await openssl(['-x509', '-new', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=fractal-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash'], tmp);
    await openssl(['-x509', '-new', ...ec, '-keyout', 'broker.key', '-out', 'broker.crt', '-subj', '/CN=fractal-broker', '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth', '-addext', 'authorityKeyIdentifier=keyid'], tmp);
    const out: string[] = [];
    for (const [f, mode] of KEYGEN_FILES) {
      chmodSync(join(tmp, f), mode);
      renameSync(join(tmp, f), join(d, f));
      out.push(join(d, f));
    }
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export default async function keygenCommand(args: string[], opts: Record<string, unknown>): Promise<number> {
  const dir = args[0];
  if (dir === undefined) throw invalid('give the directory for the keys: fractal keygen DIR');
  const files = await keygen(dir, { force: !!opts['force'] });
  for (const f of files) process.stdout.write(`wrote ${f}\n`);
  process.stdout.write(`start the instance with -o overlay=tcp -o tls-dir=${resolve(dir)}; copy the directory to every node (keep ca.key only where keys are made)\n`);
  return 0;
}
