/**
 * Where a store lives on this host: a private directory (mode 0700, owned
 * by this user) holding `<name>.sock`, the manager's Unix socket, and
 * `<name>.lock`, the file whose flock(2) elects the manager (the lock dies
 * with its process, so a crashed manager never blocks a successor), and
 * `<name>.status.json`, the manager's summary for `hmsdk stats`.
 *
 * The directory is `$HMSDK_STORE_DIR`, else `$XDG_RUNTIME_DIR/hmsdk`, else
 * `/tmp/hmsdk-<uid>`. Names may look like paths (`models/bert`): every
 * character outside `[A-Za-z0-9._-]` is %-escaped into one file name, and a
 * name whose socket path would exceed the kernel's 107 bytes is hashed.
 * @internal
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HmsdkError } from '../errors';

/** The store directory (not created). @internal */
export function storeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HMSDK_STORE_DIR) return env.HMSDK_STORE_DIR;
  if (env.XDG_RUNTIME_DIR && fs.existsSync(env.XDG_RUNTIME_DIR)) return path.join(env.XDG_RUNTIME_DIR, 'hmsdk');
  return path.join(os.tmpdir(), `hmsdk-${os.userInfo().uid}`);
}

/** Create the store directory if needed and refuse one another user could write. @internal */
export function ensureStoreDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new HmsdkError('ECONFIG', `store directory ${dir} cannot be created (${(err as Error).message})`, { cause: err });
  }
  const st = fs.statSync(dir);
  const uid = os.userInfo().uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new HmsdkError('ECONFIG', `store directory ${dir} must be a directory owned by uid ${uid} and writable by nobody else`);
  }
}

/** The escaped file-name stem of a store name. @internal */
export function fileStem(name: string): string {
  return [...Buffer.from(name, 'utf8')]
    .map((b) => (b < 0x80 && /[A-Za-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`))
    .join('');
}

/** Socket and lock paths of store `name` in `dir`. @internal */
export function storePaths(dir: string, name: string): { socket: string; lock: string; status: string } {
  let stem = fileStem(name);
  if (Buffer.byteLength(path.join(dir, `${stem}.sock`)) > 107) stem = `h-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
  return { socket: path.join(dir, `${stem}.sock`), lock: path.join(dir, `${stem}.lock`), status: path.join(dir, `${stem}.status.json`) };
}
