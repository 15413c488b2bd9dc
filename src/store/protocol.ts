/**
 * The store's wire protocol: one JSON object per line over a Unix stream
 * socket, between a store's clients and its manager (src/store/server.ts).
 *
 * A client sends requests `{ id, op, ... }`; the manager answers each with
 * `{ id, ok: true, ... }` or `{ id, ok: false, code, message }`, in order,
 * and pushes events `{ ev, key, size, ino, seq }` to every connection. An
 * event is written before the answer to the request that caused it, so a
 * client that got the answer has seen the event.
 *
 * Object memory never travels over the socket: an answer to `get` names a
 * path `/proc/<manager pid>/fd/<n>` that the client opens read-only, and
 * the object's inode and device, which the client checks on the opened
 * file (a path can outlive its file: a pid or fd number may be reused).
 * @internal
 */
/** States of an object: being written by its creator, sealed (readable), deleted (waiting for its last holders). */
export type ObjectState = 'creating' | 'sealed' | 'deleted';

/** What events report. */
export type StoreEventType = 'created' | 'sealed' | 'deleted';

/** The identity of an object's memory: its memfd's inode and device. @internal */
export interface Ident {
  ino: number;
  dev: number;
}

/** One object as `list` reports it. @internal */
export interface WireObject extends Ident {
  key: string;
  size: number;
  state: ObjectState;
  creatorPid: number;
  holders: { pid: number; holds: number }[];
  /** Bytes per node when the creator placed it (move_pages). */
  nodes: Record<string, number>;
}

/** Requests, by op. @internal */
export type Request =
  | { op: 'hello'; pid: number }
  | { op: 'reserve'; key: string; size: number }
  | { op: 'attach'; key: string; path: string; ino: number; dev: number; nodes: Record<string, number> }
  | { op: 'abort'; key: string }
  | { op: 'seal'; key: string }
  | { op: 'get'; key: string }
  | { op: 'release'; ino: number; dev: number; holds: number }
  | { op: 'delete'; key: string }
  | { op: 'list' }
  | {
      op: 'adopt';
      key: string;
      size: number;
      state: 'creating' | 'sealed';
      creator: boolean;
      holds: number;
      path: string;
      ino: number;
      dev: number;
      nodes: Record<string, number>;
    };

/** An event as sent. @internal */
export interface WireEvent extends Ident {
  ev: StoreEventType;
  key: string;
  size: number;
  seq: number;
}

/** Longest line either side accepts (an answer to `list` of many objects fits). @internal */
export const MAX_LINE = 64 << 20;

/**
 * Split a byte stream into lines and parse each as JSON. A line over
 * {@link MAX_LINE} or one that does not parse to an object is reported to
 * `onBad` (the connection is then closed by the caller).
 * @internal
 */
export class LineReader {
  private pending = '';
  constructor(
    private readonly onMessage: (msg: Record<string, unknown>) => void,
    private readonly onBad: (why: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        this.onBad('a line that is not JSON');
        return;
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
        this.onBad('a message that is not an object');
        return;
      }
      this.onMessage(msg as Record<string, unknown>);
    }
    if (this.pending.length > MAX_LINE) this.onBad(`a line longer than ${MAX_LINE} bytes`);
  }
}

/** One message as a line. @internal */
export function line(msg: object): string {
  return `${JSON.stringify(msg)}\n`;
}
