// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { backoffDelay, BACKOFF_CAP_MS } from './backoff';
import { RpcClient } from './client';
import { TokenRefused, WebSocketTransport } from './transport';

(globalThis as unknown as { WebSocket: unknown }).WebSocket = NodeWebSocket;

/** A tiny server speaking the engine's subscribe/event protocol, with a replay log. */
class FakeEngine {
  wss: WebSocketServer;
  log: { seq: number; topic: string; type: string; data: unknown }[] = [];
  subscribes: unknown[] = [];
  connections = 0;
  /** Events with a smaller seq are no longer retained: a replay reaching back before it starts with a gap. */
  retainedFrom = 1;
  port = 0;
  constructor(port = 0) {
    this.wss = new WebSocketServer({ port });
    this.wss.on('connection', (ws) => {
      this.connections += 1;
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw));
        if (msg.method === 'subscribe') {
          this.subscribes.push(msg.params);
          const after = msg.params.after_seq;
          const last = this.log.length ? this.log[this.log.length - 1].seq : 0;
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { last_seq: last } }));
          if (after !== undefined) {
            if (after + 1 < this.retainedFrom) {
              for (const topic of msg.params.topics) {
                const gap = { seq: this.retainedFrom - 1, topic, type: 'stream.gap', time: '', data: { from_seq: after + 1, to_seq: this.retainedFrom - 1 } };
                ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: gap }));
              }
            }
            for (const e of this.log.filter((e) => e.seq > after && e.seq >= this.retainedFrom && msg.params.topics.includes(e.topic))) ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: e }));
          }
        } else if (msg.method === 'system.ping') {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { pong: true } }));
        } else {
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'unknown', data: { kind: 'not_found', retryable: false } } }));
        }
      });
    });
  }
  async ready(): Promise<number> {
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    const addr = this.wss.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }
  emit(topic: string, type: string, data: unknown, send = true) {
    const e = { seq: this.log.length + 1, topic, type, data, time: '' };
    this.log.push(e);
    if (send) for (const c of this.wss.clients) c.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: e }));
  }
  async close() {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

describe('backoff', () => {
  it('is full jitter between 0 and a doubling ceiling capped at 10 s', () => {
    expect(backoffDelay(0, () => 1)).toBe(250);
    expect(backoffDelay(3, () => 1)).toBe(2000);
    expect(backoffDelay(20, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffDelay(5, () => 0)).toBe(0);
    for (let i = 0; i < 100; i++) expect(backoffDelay(4)).toBeLessThanOrEqual(4000);
  });
});

describe('RpcClient', () => {
  it('answers calls and maps errors with their kind', async () => {
    const engine = new FakeEngine();
    const port = await engine.ready();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`));
    cleanup.push(async () => client.stop(), () => engine.close());
    client.start();
    await until(() => client.state.status === 'open');
    expect(await client.call('system.ping')).toEqual({ pong: true });
    await expect(client.call('nope')).rejects.toMatchObject({ kind: 'not_found', retryable: false });
  });

  it('reconnects, resumes with after_seq, and shows each event once in order', async () => {
    let engine = new FakeEngine();
    const port = await engine.ready();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`), () => 0);
    cleanup.push(async () => client.stop(), () => engine.close());
    const seen: number[] = [];
    client.subscribe('session/s1', (e) => seen.push(e.seq));
    client.start();
    await until(() => engine.subscribes.length === 1);
    engine.emit('session/s1', 'message.delta', { delta: 'a' });
    engine.emit('session/s1', 'message.delta', { delta: 'b' });
    await until(() => seen.length === 2);

    // The server goes away; events happen meanwhile; a new server with the same log returns.
    const log = engine.log;
    await engine.close();
    await until(() => client.state.status === 'reconnecting');
    expect(client.state.attempt).toBeGreaterThanOrEqual(1);
    engine = new FakeEngine(port);
    engine.log = log;
    engine.emit('session/s1', 'message.delta', { delta: 'c' }, false);
    engine.emit('session/s1', 'message.delta', { delta: 'd' }, false);
    await engine.ready();
    cleanup.push(() => engine.close());
    client.retryNow();
    await until(() => seen.length >= 4);
    // It resumed after the last event it had (the client may already have reconnected on its own).
    expect(engine.subscribes).toContainEqual({ topics: ['session/s1'], after_seq: 2 });
    // A duplicate delivery (e.g. a replay overlapping live events) is dropped.
    for (const c of engine.wss.clients) c.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: log[2] }));
    engine.emit('session/s1', 'message.delta', { delta: 'e' });
    await until(() => seen.length >= 5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects calls while disconnected instead of hanging', async () => {
    const client = new RpcClient(new WebSocketTransport('ws://127.0.0.1:1'), () => 0);
    cleanup.push(async () => client.stop());
    client.start();
    await until(() => client.state.status === 'reconnecting');
    await expect(client.call('system.ping')).rejects.toMatchObject({ kind: 'unavailable', retryable: true });
  });
});

describe('RpcClient resuming', () => {
  it('resumes several topics from the oldest seq seen and shows each event once', async () => {
    let engine = new FakeEngine();
    const port = await engine.ready();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`), () => 0);
    cleanup.push(async () => client.stop(), () => engine.close());
    const seen: string[] = [];
    client.subscribe('session/a', (e) => seen.push(`a${e.seq}`));
    client.start();
    await until(() => client.state.status === 'open' && engine.subscribes.length === 1);
    // A topic subscribed while connected is subscribed at once.
    client.subscribe('workflow/b', (e) => seen.push(`b${e.seq}`));
    await until(() => engine.subscribes.length === 2);
    engine.emit('session/a', 'x', {}); // 1
    engine.emit('workflow/b', 'x', {}); // 2
    engine.emit('workflow/b', 'x', {}); // 3
    await until(() => seen.length === 3);

    const log = engine.log;
    await engine.close();
    await until(() => client.state.status === 'reconnecting');
    engine = new FakeEngine(port);
    engine.log = log;
    engine.emit('workflow/b', 'x', {}, false); // 4
    engine.emit('session/a', 'x', {}, false); // 5
    await engine.ready();
    cleanup.push(() => engine.close());
    client.retryNow();
    await until(() => seen.length >= 5);
    await new Promise((r) => setTimeout(r, 100));
    // One subscribe for both, after the older of the two positions; b's replayed 2 and 3 are dropped.
    expect(engine.subscribes).toEqual([{ topics: ['session/a', 'workflow/b'], after_seq: 1 }]);
    expect(seen).toEqual(['a1', 'b2', 'b3', 'b4', 'a5']);
  });

  it('hands a stream.gap to the topic’s listeners (who refetch), then continues with what is retained', async () => {
    let engine = new FakeEngine();
    const port = await engine.ready();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`), () => 0);
    cleanup.push(async () => client.stop(), () => engine.close());
    const seen: string[] = [];
    client.subscribe('session/a', (e) => seen.push(`${e.type}:${e.seq}`));
    client.start();
    await until(() => engine.subscribes.length === 1);
    engine.emit('session/a', 'message.delta', {}); // 1
    await until(() => seen.length === 1);

    const log = engine.log;
    await engine.close();
    await until(() => client.state.status === 'reconnecting');
    engine = new FakeEngine(port);
    engine.log = log;
    for (let i = 0; i < 5; i++) engine.emit('session/a', 'message.delta', {}, false); // 2..6
    engine.retainedFrom = 5; // 2..4 are gone
    await engine.ready();
    cleanup.push(() => engine.close());
    client.retryNow();
    await until(() => seen.length >= 4);
    expect(seen).toEqual(['message.delta:1', 'stream.gap:4', 'message.delta:5', 'message.delta:6']);
  });

  it('unsubscribes when the last listener of a topic goes, and forgets its position', async () => {
    const engine = new FakeEngine();
    const port = await engine.ready();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`));
    cleanup.push(async () => client.stop(), () => engine.close());
    client.start();
    await until(() => client.state.status === 'open');
    const off1 = client.subscribe('project/p', () => undefined);
    const off2 = client.subscribe('project/p', () => undefined);
    await until(() => engine.subscribes.length === 1);
    const unsubscribed: unknown[] = [];
    for (const ws of engine.wss.clients) ws.on('message', (raw) => JSON.parse(String(raw)).method === 'unsubscribe' && unsubscribed.push(JSON.parse(String(raw)).params));
    off1();
    await new Promise((r) => setTimeout(r, 50));
    expect(unsubscribed).toEqual([]);
    off2();
    await until(() => unsubscribed.length === 1);
    expect(unsubscribed).toEqual([{ topics: ['project/p'] }]);
  });
});

describe('RpcClient backoff', () => {
  it('waits a full-jitter delay under a ceiling that doubles from 250 ms to 10 s', async () => {
    // A port nobody listens on: every attempt fails at once.
    const client = new RpcClient(new WebSocketTransport('ws://127.0.0.1:1'), () => 0.02);
    cleanup.push(async () => client.stop());
    const waits: { attempt: number; ms: number }[] = [];
    client.onState(() => {
      const s = client.state;
      if (s.status === 'reconnecting' && s.retryAt !== null && waits.at(-1)?.attempt !== s.attempt) waits.push({ attempt: s.attempt, ms: s.retryAt - Date.now() });
    });
    client.start();
    await until(() => waits.length >= 9, 8000);
    const expected = [250, 500, 1000, 2000, 4000, 8000, 10000, 10000, 10000].map((ceiling) => 0.02 * ceiling);
    expect(waits.map((w) => w.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    waits.slice(0, 9).forEach((w, i) => {
      expect(w.ms).toBeLessThanOrEqual(expected[i]);
      expect(w.ms).toBeGreaterThanOrEqual(expected[i] - 5);
    });
  });

  it('never runs two connection attempts at once, however often Retry now is pressed', async () => {
    const engine = new FakeEngine();
    const port = await engine.ready();
    await engine.close();
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}`), () => 1);
    cleanup.push(async () => client.stop());
    client.start();
    await until(() => client.state.status === 'reconnecting');
    const back = new FakeEngine(port);
    await back.ready();
    cleanup.push(() => back.close());
    for (let i = 0; i < 5; i++) client.retryNow();
    await until(() => client.state.status === 'open');
    for (let i = 0; i < 5; i++) client.retryNow();
    await new Promise((r) => setTimeout(r, 300));
    expect(back.connections).toBe(1);
  });
});

/**
 * `atelier serve`'s gate: `/ws` refuses the upgrade with 401 unless `?token=` is the token, and
 * `GET /auth/check` says 204 or 401 the same way.
 */
async function guardedServer(token: string): Promise<{ port: number; server: Server; checks: number; upgrades: number }> {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { pong: true } }));
  }));
  const state = { port: 0, server: null as unknown as Server, checks: 0, upgrades: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/auth/check') return void res.writeHead(404).end();
    state.checks += 1;
    res.writeHead(url.searchParams.get('token') === token ? 204 : 401).end();
  });
  server.on('upgrade', (req, socket, head) => {
    state.upgrades += 1;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('token') !== token) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  state.port = typeof addr === 'object' && addr ? addr.port : 0;
  state.server = server;
  cleanup.push(async () => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return state;
}

describe('RpcClient with a refused token', () => {
  it('says the token was refused and stops retrying until Retry now', async () => {
    const server = await guardedServer('right');
    const transport = new WebSocketTransport(`ws://127.0.0.1:${server.port}/ws?token=wrong`);
    const client = new RpcClient(transport, () => 0);
    cleanup.push(async () => client.stop());
    client.start();
    await until(() => client.state.tokenRefused);
    expect(client.state).toMatchObject({ status: 'reconnecting', retryAt: null, tokenRefused: true });
    expect(client.state.lastError).toBe(new TokenRefused().message);
    expect(server.checks).toBe(1);
    // With a zero backoff it would have tried again many times by now.
    await new Promise((r) => setTimeout(r, 200));
    expect(server.upgrades).toBe(1);
    client.retryNow();
    await until(() => server.upgrades === 2 && server.checks === 2);
    await until(() => client.state.tokenRefused);
  });

  it('keeps retrying when the server cannot be reached (no 401 from /auth/check)', async () => {
    const server = await guardedServer('right');
    const port = server.port;
    server.server.closeAllConnections();
    await new Promise<void>((r) => server.server.close(() => r()));
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${port}/ws?token=right`), () => 0);
    cleanup.push(async () => client.stop());
    client.start();
    await until(() => client.state.attempt >= 3);
    expect(client.state.tokenRefused).toBe(false);
    expect(client.state.lastError).toBe('the server cannot be reached');
  });

  it('connects when the token is right', async () => {
    const server = await guardedServer('right');
    const client = new RpcClient(new WebSocketTransport(`ws://127.0.0.1:${server.port}/ws?token=right`));
    cleanup.push(async () => client.stop());
    client.start();
    await until(() => client.state.status === 'open');
    expect(await client.call('system.ping')).toEqual({ pong: true });
    expect(server.checks).toBe(0);
  });
});
