/** One Server-Sent Event. `id` is undefined when the event had no id field. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/**
 * An incremental Server-Sent Events parser (the WHATWG algorithm): feed it text chunks as they
 * arrive, in any split, and it calls `onMessage` for each complete event. `lastEventId` follows the
 * spec: it persists across events until an id field changes it.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private idSeen: string | undefined;
  lastEventId: string | undefined;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | undefined;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buffer.slice(start).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const end = start + nl;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (this.buffer[end] === '\r' && end + 1 === this.buffer.length) break;
      const width = this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1;
      this.line(this.buffer.slice(start, end));
      start = end + width;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.idSeen = value;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }

  private dispatch(): void {
    const id = this.idSeen;
    this.idSeen = undefined;
    if (this.data.length === 0) {
      this.event = '';
      return;
    }
    const message: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), ...(id === undefined ? {} : { id }) };
    this.data = [];
    this.event = '';
    this.onMessage(message);
  }
}
