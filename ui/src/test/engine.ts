/**
 * A fake engine for component tests, reached the way the desktop app reaches the real one:
 * through Tauri IPC (`rpc` with a JSON-RPC request string, answered with the response as JSON;
 * `events` with a Channel). The desktop's other commands (`server_status`, `server_set`, the
 * dialog and opener plugins' `plugin:…|…`) are answered by `command` handlers. Importing
 * this module installs it, so it must be imported before `../api` creates the page's client.
 * Components therefore run against the real client, transport, hooks and event handling.
 */
import { mockIPC } from '@tauri-apps/api/mocks';

type Params = Record<string, unknown>;
type Handler = (params: Params) => unknown;
interface Request {
  id?: unknown;
  method: string;
  params?: Params;
}

/** A JSON-RPC error a handler throws. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly kind: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

interface ChannelLike {
  id: number;
}
interface Internals {
  runCallback(id: number, data: unknown): void;
}

export class FakeEngine {
  readonly handlers = new Map<string, Handler>();
  /** Tauri commands other than `rpc` and `events`. */
  readonly commands = new Map<string, Handler>();
  /** Every such command invoked, with its arguments. */
  readonly invoked: { cmd: string; args: Params }[] = [];
  readonly calls: { method: string; params: Params }[] = [];
  readonly topics = new Set<string>();
  /** The methods of each batch received, in order. */
  readonly batches: string[][] = [];
  private channel: ChannelLike | null = null;
  private index = 0;
  seq = 100;

  constructor() {
    this.reset();
  }

  /** Forgets every handler, call and subscription (the built-in methods stay). */
  reset(): void {
    this.handlers.clear();
    this.commands.clear();
    this.invoked.length = 0;
    this.calls.length = 0;
    this.batches.length = 0;
    this.topics.clear();
    this.on('system.ping', () => ({ pong: true }));
    this.on('subscribe', (p) => {
      for (const t of p.topics as string[]) this.topics.add(t);
      return { last_seq: this.seq };
    });
    this.on('unsubscribe', (p) => {
      for (const t of p.topics as string[]) this.topics.delete(t);
      return {};
    });
  }

  on(method: string, handler: Handler): this {
    this.handlers.set(method, handler);
    return this;
  }

  /** Answers the Tauri command `cmd` (a throw rejects the invoke, as a command's `Err` does). */
  command(cmd: string, handler: Handler): this {
    this.commands.set(cmd, handler);
    return this;
  }

  /** The arguments of every invoke of `cmd` so far. */
  invokesOf(cmd: string): Params[] {
    return this.invoked.filter((c) => c.cmd === cmd).map((c) => c.args);
  }

  /** The params of every call of `method` so far. */
  callsOf(method: string): Params[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  /** Publishes an event, as the engine's bus does, if someone subscribes to its topic. */
  emit(topic: string, type: string, data: unknown): void {
    this.seq += 1;
    if (!this.channel || !this.topics.has(topic)) return;
    const message = { jsonrpc: '2.0', method: 'event', params: { seq: this.seq, topic, type, time: new Date().toISOString(), data } };
    (window as unknown as { __TAURI_INTERNALS__: Internals }).__TAURI_INTERNALS__.runCallback(this.channel.id, { index: this.index++, message });
  }

  private answer(req: Request): Promise<object> {
    const params = req.params ?? {};
    this.calls.push({ method: req.method, params });
    const reply = (body: object) => ({ jsonrpc: '2.0', id: req.id, ...body });
    const handler = this.handlers.get(req.method);
    if (!handler) return Promise.resolve(reply({ error: { code: -32601, message: `unknown method ${req.method}`, data: { kind: 'not_found', retryable: false } } }));
    return Promise.resolve()
      .then(() => handler(params))
      .then(
        (result) => reply({ result: result ?? {} }),
        (e: unknown) =>
          e instanceof EngineError
            ? reply({ error: { code: e.code, message: e.message, data: { kind: e.kind, retryable: e.retryable } } })
            : reply({ error: { code: -32603, message: String(e), data: { kind: 'internal', retryable: false } } }),
      );
  }

  install(): void {
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      if (cmd === 'events') {
        this.channel = a.channel as ChannelLike;
        this.index = 0;
        return null;
      }
      if (cmd !== 'rpc') {
        const handler = this.commands.get(cmd);
        if (!handler) throw new Error(`unknown command ${cmd}`);
        this.invoked.push({ cmd, args: a });
        return handler(a);
      }
      const parsed = JSON.parse(a.request as string) as Request | Request[];
      // A batch is answered with an array of the responses, as the engine does; the desktop
      // shell hands the response over as JSON (not a string), as the real `rpc` command does.
      if (Array.isArray(parsed)) this.batches.push(parsed.map((r) => r.method));
      if (Array.isArray(parsed)) return Promise.all(parsed.map((r) => this.answer(r)));
      return this.answer(parsed);
    });
  }
}

export const engine = new FakeEngine();
engine.install();
