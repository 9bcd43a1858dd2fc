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
  private readonly lineEnd = /[\r\n]/g;
  lastEventId: string | undefined;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | undefined;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  feed(chunk: string): void {
    const buffer = this.buffer + chunk;
    let start = 0;
    for (;;) {
      // The next line end from `start`, without copying the rest of the buffer for each line.
      this.lineEnd.lastIndex = start;
      const found = this.lineEnd.exec(buffer);
      if (!found) break;
      const end = found.index;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (buffer[end] === '\r' && end + 1 === buffer.length) break;
      const width = buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1;
      this.line(buffer.slice(start, end));
      start = end + width;
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
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
