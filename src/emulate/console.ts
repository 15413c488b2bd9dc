/**
 * Serial-console demultiplexer. Everything the VM prints arrives on one
 * stream: firmware and kernel noise, then the command's output between the
 * init's start and exit markers. This filter forwards only the part between
 * the markers (with the tty's CRLF turned back into LF), keeps the last few
 * KiB of what came before for error reports, and extracts the exit code.
 * Markers carry a per-run nonce, so the command's own output cannot fake one.
 */
import { markers } from './initramfs';

const TAIL_BYTES = 8192;

/** Streaming filter over the VM console. */
export class ConsoleFilter {
  /** The start marker has been seen (the command is running). */
  started = false;
  /** The command's exit code, once the exit marker has been seen. */
  exitCode: number | undefined;
  private pending = '';
  private preTail = '';
  private readonly start: string;
  private readonly exitPrefix: string;
  private readonly exitRe: RegExp;

  /**
   * @param nonce - the run's marker nonce
   * @param write - receives the command's output
   * @param events - called when the command starts and when its exit code is known
   */
  constructor(
    nonce: string,
    private readonly write: (text: string) => void,
    private readonly events: { onStart?: () => void; onExit?: (code: number) => void } = {},
  ) {
    const m = markers(nonce);
    this.start = m.start;
    this.exitPrefix = m.exitPrefix;
    this.exitRe = new RegExp(`${escapeRe(m.exitPrefix)}(\\d+)>>\\n?`);
  }

  /** Console output seen before the command started (last 8 KiB), for error messages. */
  get bootTail(): string {
    return (this.preTail + (this.started ? '' : this.pending)).slice(-TAIL_BYTES);
  }

  /** Feed a chunk of console output. */
  push(chunk: string): void {
    if (this.exitCode !== undefined) return;
    this.pending += chunk;
    // CRLF from the guest tty → LF; keep a trailing CR until we see what follows.
    const keepCr = this.pending.endsWith('\r');
    let text = (keepCr ? this.pending.slice(0, -1) : this.pending).replace(/\r\n/g, '\n');
    if (!this.started) {
      const at = text.indexOf(this.start);
      const ex = this.exitRe.exec(text);
      if (ex && (at < 0 || ex.index < at)) {
        this.preTail = (this.preTail + text.slice(0, ex.index)).slice(-TAIL_BYTES);
        this.pending = '';
        this.finish(Number(ex[1]));
        return;
      }
      if (at < 0) {
        const cut = Math.max(0, text.length - this.start.length);
        this.preTail = (this.preTail + text.slice(0, cut)).slice(-TAIL_BYTES);
        this.pending = text.slice(cut) + (keepCr ? '\r' : '');
        return;
      }
      this.preTail = (this.preTail + text.slice(0, at)).slice(-TAIL_BYTES);
      text = text.slice(at + this.start.length).replace(/^\n/, '');
      this.started = true;
      this.events.onStart?.();
    }
    const ex = this.exitRe.exec(text);
    if (ex) {
      if (ex.index > 0) this.write(text.slice(0, ex.index));
      this.pending = '';
      this.finish(Number(ex[1]));
      return;
    }
    // Hold back a tail that may be the beginning of the exit marker.
    let hold = 0;
    const p = text.indexOf(this.exitPrefix);
    if (p >= 0) hold = text.length - p;
    else for (let n = Math.min(this.exitPrefix.length - 1, text.length); n > 0; n--) {
      if (this.exitPrefix.startsWith(text.slice(-n))) {
        hold = n;
        break;
      }
    }
    const out = text.slice(0, text.length - hold);
    if (out) this.write(out);
    this.pending = text.slice(text.length - hold) + (keepCr ? '\r' : '');
  }

  private finish(code: number): void {
    this.exitCode = code;
    this.events.onExit?.(code);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
