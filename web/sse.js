// Server-sent events over fetch(): EventSource cannot send the Authorization
// header, so the page reads the text/event-stream body itself.

import {parseError} from '/assets/session.js';

/** The text/event-stream line protocol (WHATWG HTML, "Parsing an event stream"). */
export class SSEParser {
  constructor({onEvent, onComment, onRetry} = {}) {
    this.onEvent = onEvent || (() => {});
    this.onComment = onComment || (() => {});
    this.onRetry = onRetry || (() => {});
    this.buf = '';
    this.data = [];
    this.type = '';
    this.lastEventId = '';
  }

  feed(text) {
    this.buf += text;
    const buf = this.buf;
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i + 1 === buf.length) break; // a CR at the end: wait for a possible LF
      this.line(buf.slice(start, i));
      if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buf = buf.slice(start);
  }

  line(l) {
    if (l === '') return this.dispatch();
    if (l[0] === ':') return this.onComment(l.slice(1).trim());
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event': this.type = value; break;
      case 'data': this.data.push(value); break;
      case 'id': if (!value.includes('\0')) this.lastEventId = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.onRetry(Number(value)); break;
      default: break; // unknown fields are ignored
    }
  }

  dispatch() {
    const type = this.type || 'message';
    const data = this.data;
    this.type = '';
    this.data = [];
    if (!data.length) return;
    this.onEvent({type, data: data.join('\n'), id: this.lastEventId});
  }
}

const FATAL = new Set([400, 401, 403, 404, 405, 410]);

/**
 * A report stream: fetch() + ReadableStream reader, reconnecting after a drop
 * (default 2 s, or the stream's `retry:`) with Last-Event-ID.
 *
 *   new LiveStream({url, headers, onReport(report, id), onState(state, detail), onFatal(error)})
 *   states: 'connecting', 'live', 'reconnecting', 'closed'
 */
export class LiveStream {
  constructor({url, headers, onReport, onState, onFatal, idleMs = 60000}) {
    this.url = url;
    this.headers = headers;
    this.onReport = onReport;
    this.onState = onState || (() => {});
    this.onFatal = onFatal || (() => {});
    this.idleMs = idleMs;
    this.retryMs = 2000;
    this.lastId = '';
    this.stopped = false;
    this.conn = null;
    this.wake = null;
    this.everLive = false;
  }

  start() {
    this.run();
    return this;
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.conn) this.conn.abort();
    if (this.wake) this.wake();
    this.onState('closed');
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  async run() {
    while (!this.stopped) {
      this.onState(this.everLive ? 'reconnecting' : 'connecting');
      const conn = new AbortController();
      this.conn = conn;
      const headers = {...this.headers, Accept: 'text/event-stream'};
      if (this.lastId) headers['Last-Event-ID'] = this.lastId;
      let res;
      try {
        res = await fetch(this.url, {headers, signal: conn.signal, cache: 'no-store', credentials: 'omit'});
      } catch {
        if (this.stopped) return;
        this.onState('reconnecting', 'The service cannot be reached.');
        await this.sleep(this.retryMs);
        continue;
      }
      if (this.stopped) return;
      if (!res.ok) {
        const err = await parseError(res);
        if (this.stopped) return;
        if (FATAL.has(res.status)) {
          this.stopped = true;
          this.onFatal(err);
          this.onState('closed');
          return;
        }
        const after = Number(res.headers.get('Retry-After'));
        this.onState('reconnecting', err.message);
        await this.sleep(Number.isFinite(after) && after > 0 ? after * 1000 : this.retryMs);
        continue;
      }
      this.everLive = true;
      this.onState('live');
      try {
        await this.read(res.body, conn);
      } catch {
        // dropped: reconnect below
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await this.sleep(this.retryMs);
    }
  }

  async read(body, conn) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let fatal = null;
    const parser = new SSEParser({
      onRetry: (ms) => { this.retryMs = Math.min(Math.max(ms, 500), 60000); },
      onEvent: (ev) => {
        if (ev.id) this.lastId = ev.id;
        if (ev.type === 'report') {
          let report;
          try {
            report = JSON.parse(ev.data);
          } catch {
            return;
          }
          this.onReport(report, ev.id);
        } else if (ev.type === 'error') {
          let body = null;
          try {
            body = JSON.parse(ev.data);
          } catch {
            body = {error: ev.data};
          }
          fatal = body;
        }
      },
    });
    let idle = null;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(), this.idleMs);
    };
    arm();
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        arm();
        parser.feed(decoder.decode(value, {stream: true}));
        if (fatal) break;
      }
    } finally {
      clearTimeout(idle);
      reader.cancel().catch(() => {});
    }
    if (fatal && !this.stopped) {
      this.stopped = true;
      const status = Number(fatal.status) || 500;
      const msg = fatal.message || fatal.error || 'The report can no longer be computed.';
      const err = new Error(`${status}: ${typeof msg === 'string' ? msg : JSON.stringify(msg)}`);
      err.status = status;
      this.onFatal(err);
      this.onState('closed');
    }
  }
}
