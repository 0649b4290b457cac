/**
 * A parser of Server-Sent Events (text/event-stream) for the fetch fallback of
 * the event stream: fed text as it arrives, it hands back whole messages.
 */
import type { IServerEvent } from './types';

export class SSEParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;
  private endedWithCR = false;
  /** The id of the last message, sent back as `Last-Event-ID` on reconnecting. */
  lastEventId: string | null = null;

  /** Messages completed by this chunk (comments, such as keep-alive pings, are skipped). */
  feed(chunk: string): IServerEvent[] {
    if (this.endedWithCR && chunk.startsWith('\n')) {
      chunk = chunk.slice(1); // the \n of a \r\n split between two chunks
    }
    this.endedWithCR = chunk.endsWith('\r');
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? ''; // an unfinished line waits for the next chunk
    const out: IServerEvent[] = [];
    for (const line of lines) {
      if (line === '') {
        if (this.data.length) {
          out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
        }
        if (this.id !== null) {
          this.lastEventId = this.id;
        }
        this.data = [];
        this.event = '';
        this.id = null;
        continue;
      }
      if (line.startsWith(':')) {
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      if (field === 'data') {
        this.data.push(value);
      } else if (field === 'event') {
        this.event = value;
      } else if (field === 'id' && !value.includes('\u0000')) {
        this.id = value;
      }
    }
    return out;
  }
}
