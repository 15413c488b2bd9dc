/**
 * The status files store managers keep (`<name>.status.json` in the store
 * directory, see server.ts): read by `hmsdk stats` to show store memory per
 * node and tier without loading the addon or connecting. A file whose
 * manager process is gone (killed before it could remove it) is skipped.
 * @internal
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ObjectState } from './protocol';

/** Format version of the status file. @internal */
export const STATUS_VERSION = 1;

/** One store's summary. @internal */
export interface StoreStatus {
  version: number;
  name: string;
  /** The manager's pid. */
  pid: number;
  objects: { key: string; size: number; state: ObjectState; holders: number; nodes: Record<string, number> }[];
}

/** Every live store's status in `dir` (none when the directory does not exist). @internal */
export function readStoreStatus(dir: string): StoreStatus[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.status.json'));
  } catch {
    return [];
  }
  const out: StoreStatus[] = [];
  for (const f of files.sort()) {
    try {
      const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StoreStatus;
      if (s.version !== STATUS_VERSION || !Number.isInteger(s.pid) || !Array.isArray(s.objects)) continue;
      if (!fs.existsSync(`/proc/${s.pid}`)) continue;
      out.push(s);
    } catch {
      /* being rewritten, or not ours: skip */
    }
  }
  return out;
}
