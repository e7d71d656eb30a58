// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { backoffDelay, BACKOFF_CAP_MS } from './backoff';
import { RpcClient } from './client';
import { WebSocketTransport } from './transport';

(globalThis as unknown as { WebSocket: unknown }).WebSocket = NodeWebSocket;

/** A tiny server speaking the engine's subscribe/event protocol, with a replay log. */
class FakeEngine {
  wss: WebSocketServer;
  log: { seq: number; topic: string; type: string; data: unknown }[] = [];
  subscribes: unknown[] = [];
  port = 0;
  constructor(port = 0) {
    this.wss = new WebSocketServer({ port });
    this.wss.on('connection', (ws) => {
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw));
        if (msg.method === 'subscribe') {
          this.subscribes.push(msg.params);
          const after = msg.params.after_seq;
          const last = this.log.length ? this.log[this.log.length - 1].seq : 0;
          ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { last_seq: last } }));
          if (after !== undefined) {
            for (const e of this.log.filter((e) => e.seq > after && msg.params.topics.includes(e.topic))) ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'event', params: e }));
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
