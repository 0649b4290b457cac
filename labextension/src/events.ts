/**
 * The job server's live events (`GET jupyter-ext/api/events`, Server-Sent Events):
 * jobs, job requests, log lines and releases of this workspace (and, for an output
 * checker, a second stream of releases of every workspace they may see).
 *
 * The browser's EventSource is used first: same origin, the server's login cookie,
 * and it reconnects by itself sending `Last-Event-ID`, so the job server replays
 * what was missed. A cookie is taken for a request the page makes (not a navigation)
 * only with the page's XSRF token, which an EventSource cannot send as a header:
 * it goes as the `_xsrf` argument (as JupyterHub's own progress stream does), and
 * the server extension keeps it from the job server. Where the server still refuses
 * the stream, it is read with fetch through ServerConnection instead, which sends
 * the page's token, and reconnects the same way.
 */
import { ServerConnection } from '@jupyterlab/services';

import { SSEParser } from './sse';

export const KINDS = ['job', 'job_request', 'log', 'release'];

export interface IEventStreamOptions {
  url: string;
  /** The kinds listened to (the stream's `event` names); KINDS unless said. */
  kinds?: string[];
  onEvent: (kind: string, data: any) => void;
  /** The stream is open (again): `first` for the first time. */
  onOpen: (first: boolean) => void;
  onError: (message: string) => void;
}

export class EventStream {
  private source: EventSource | null = null;
  private abort: AbortController | null = null;
  private opened = false;
  /** The last event's id, handed on if the stream moves from EventSource to fetch. */
  private lastId: string | null = null;
  private disposed = false;
  /** How the stream is read: `eventsource` or `fetch`. */
  mode: 'eventsource' | 'fetch' = 'eventsource';

  constructor(private options: IEventStreamOptions) {}

  private get kinds(): string[] {
    return this.options.kinds ?? KINDS;
  }

  start(): void {
    if (typeof EventSource === 'undefined') {
      void this.startFetch();
      return;
    }
    const source = new EventSource(withXsrf(this.options.url, cookie('_xsrf')), {
      withCredentials: true
    });
    this.source = source;
    source.onopen = () => this.opened_();
    source.onerror = () => {
      if (this.disposed) {
        return;
      }
      if (source.readyState === EventSource.CLOSED) {
        // refused (a cookie the server does not take, or the job server away): fetch retries
        source.close();
        this.source = null;
        void this.startFetch();
      } else {
        this.options.onError('reconnecting…'); // the browser reconnects with Last-Event-ID
      }
    };
    for (const kind of this.kinds) {
      source.addEventListener(kind, (e: MessageEvent) => {
        this.lastId = e.lastEventId || this.lastId;
        this.dispatch(kind, e.data);
      });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.source?.close();
    this.abort?.abort();
  }

  private opened_(): void {
    const first = !this.opened;
    this.opened = true;
    this.options.onOpen(first);
  }

  private dispatch(kind: string, text: string): void {
    let data: any;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    this.options.onEvent(kind, data);
  }

  private async startFetch(): Promise<void> {
    this.mode = 'fetch';
    const parser = new SSEParser();
    parser.lastEventId = this.lastId;
    const settings = ServerConnection.makeSettings();
    let wait = 500;
    while (!this.disposed) {
      this.abort = new AbortController();
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream' };
        if (parser.lastEventId !== null) {
          headers['Last-Event-ID'] = parser.lastEventId;
        }
        const init = { headers, signal: this.abort.signal, cache: 'no-store' as RequestCache };
        const response = await ServerConnection.makeRequest(this.options.url, init, settings);
        if (!response.ok || !response.body) {
          throw new Error(`the event stream was refused: ${response.status} ${await response.text()}`);
        }
        this.opened_();
        wait = 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            break;
          }
          for (const message of parser.feed(value)) {
            if (this.kinds.includes(message.event)) {
              this.dispatch(message.event, message.data);
            }
          }
        }
      } catch (error) {
        if (this.disposed) {
          return;
        }
        this.options.onError(error instanceof Error ? error.message : String(error));
      }
      await new Promise(resolve => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 15000);
    }
  }
}

/** `url` with the page's XSRF token as its `_xsrf` argument (unchanged without one). */
export function withXsrf(url: string, token: string | undefined): string {
  if (!token) {
    return url;
  }
  return `${url}${url.includes('?') ? '&' : '?'}_xsrf=${encodeURIComponent(token)}`;
}

/** A cookie of the page, the last of its name as JupyterLab's ServerConnection reads it. */
export function cookie(name: string, source?: string): string | undefined {
  let text = source;
  if (text === undefined) {
    try {
      text = typeof document === 'undefined' ? '' : document.cookie;
    } catch {
      return undefined; // a sandboxed page
    }
  }
  let value: string | undefined;
  for (const part of text.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith(`${name}=`)) {
      value = trimmed.slice(name.length + 1);
    }
  }
  return value;
}
