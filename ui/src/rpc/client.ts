/**
 * The typed JSON-RPC client: requests with promises, topic subscriptions with replay after a
 * reconnect (`after_seq`), de-duplication by `seq`, and reconnection with full-jitter backoff.
 */
import type { Event } from '../protocol/generated';
import { backoffDelay } from './backoff';
import type { Transport } from './transport';

export type EventListener = (event: Event) => void;

export interface ConnectionState {
  status: 'connecting' | 'open' | 'reconnecting';
  /** Reconnection attempts since the connection was lost. */
  attempt: number;
  /** When the next attempt starts (ms since the epoch), while reconnecting. */
  retryAt: number | null;
  lastError: string | null;
  /** The server refused the access token: no more attempts until `retryNow()`. */
  tokenRefused: boolean;
}

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly kind: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface RpcResponse {
  id?: unknown;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { kind?: string; retryable?: boolean } };
}

export class RpcClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<EventListener>>();
  /** The highest `seq` delivered per topic: replays resume after it and duplicates are dropped. */
  private readonly lastSeq = new Map<string, number>();
  private readonly stateListeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** A connection attempt is under way: never two at once (they would both deliver events). */
  private connecting = false;
  state: ConnectionState = { status: 'connecting', attempt: 0, retryAt: null, lastError: null, tokenRefused: false };

  constructor(
    private readonly transport: Transport,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.transport.close();
  }

  /** Connects now instead of waiting for the next attempt. */
  retryNow(): void {
    if (this.state.status !== 'reconnecting') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.connect();
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  call<T = unknown>(method: string, params: object = {}): Promise<T> {
    if (this.state.status !== 'open') {
      return Promise.reject(new RpcError('not connected to Atelier; retrying', -32000, 'unavailable', true));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.transport.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  /**
   * Several calls in one JSON-RPC batch (one message, one round trip); each call's outcome is
   * reported separately, as `Promise.allSettled` does.
   */
  batch(calls: { method: string; params?: object }[]): Promise<PromiseSettledResult<unknown>[]> {
    if (this.state.status !== 'open') {
      const err = new RpcError('not connected to Atelier; retrying', -32000, 'unavailable', true);
      return Promise.resolve(calls.map(() => ({ status: 'rejected' as const, reason: err })));
    }
    const requests = calls.map(({ method, params }) => ({ jsonrpc: '2.0', id: this.nextId++, method, params: params ?? {} }));
    const results = requests.map(
      (r) =>
        new Promise<unknown>((resolve, reject) => {
          this.pending.set(r.id, { resolve, reject });
        }),
    );
    this.transport.send(requests);
    return Promise.allSettled(results);
  }

  /** Listens to a topic; the first listener subscribes. Returns the unsubscribe function. */
  subscribe(topic: string, listener: EventListener): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
      if (this.state.status === 'open') void this.subscribeTopics([topic]);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(topic);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(topic);
        this.lastSeq.delete(topic);
        if (this.state.status === 'open') this.call('unsubscribe', { topics: [topic] }).catch(() => undefined);
      }
    };
  }

  private setState(patch: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.stateListeners) l();
  }

  private async connect(): Promise<void> {
    if (this.connecting) return;
    this.connecting = true;
    try {
      await this.transport.open({
        message: (value) => this.receive(value as RpcResponse),
        close: (reason) => this.lost(reason),
      });
    } catch (e) {
      this.connecting = false;
      this.lost(e instanceof Error ? e.message : String(e), (e as { fatal?: unknown } | null)?.fatal === true);
      return;
    }
    this.connecting = false;
    // Read by the desktop benchmark (ui/e2e/desktop-bench.mjs): when the engine first answered.
    if (typeof performance !== 'undefined' && performance.getEntriesByName('atelier:open').length === 0) performance.mark('atelier:open');
    this.setState({ status: 'open', attempt: 0, retryAt: null, lastError: null, tokenRefused: false });
    await this.subscribeTopics([...this.listeners.keys()]);
  }

  /** (Re)subscribes: topics seen before resume after their last `seq`, so nothing is missed. */
  private async subscribeTopics(topics: string[]): Promise<void> {
    const resumed = topics.filter((t) => this.lastSeq.has(t));
    const fresh = topics.filter((t) => !this.lastSeq.has(t));
    try {
      if (resumed.length > 0) {
        const after = Math.min(...resumed.map((t) => this.lastSeq.get(t) ?? 0));
        await this.call('subscribe', { topics: resumed, after_seq: after });
      }
      if (fresh.length > 0) {
        const { last_seq } = await this.call<{ last_seq: number }>('subscribe', { topics: fresh });
        for (const t of fresh) if (!this.lastSeq.has(t)) this.lastSeq.set(t, last_seq);
      }
    } catch {
      // The connection dropped meanwhile; the next connect subscribes again.
    }
  }

  /** The connection is lost or could not be made; `fatal` (the token was refused): no retry until `retryNow()`. */
  private lost(reason: string, fatal = false): void {
    for (const p of this.pending.values()) p.reject(new RpcError(`connection lost: ${reason}`, -32000, 'unavailable', true));
    this.pending.clear();
    if (this.stopped) return;
    // `attempt` numbers the coming attempt: 1 right after losing an open connection, one more
    // after each failed attempt; the backoff ceiling doubles with each failure.
    const failed = this.state.status === 'open' ? 0 : this.state.attempt;
    if (fatal) {
      this.setState({ status: 'reconnecting', attempt: failed + 1, retryAt: null, lastError: reason, tokenRefused: true });
      return;
    }
    const delay = backoffDelay(failed, this.random);
    this.setState({ status: 'reconnecting', attempt: failed + 1, retryAt: Date.now() + delay, lastError: reason, tokenRefused: false });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private receive(msg: RpcResponse): void {
    if (Array.isArray(msg)) {
      for (const m of msg as RpcResponse[]) this.receive(m);
      return;
    }
    if (msg.method === 'event') {
      const event = msg.params as Event;
      const seen = this.lastSeq.get(event.topic);
      if (seen !== undefined && event.seq <= seen && event.type !== 'stream.gap') return;
      this.lastSeq.set(event.topic, Math.max(seen ?? 0, event.seq));
      for (const l of this.listeners.get(event.topic) ?? []) l(event);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    this.pending.delete(msg.id);
    if (msg.error) {
      const data = msg.error.data ?? {};
      pending.reject(new RpcError(msg.error.message, msg.error.code, data.kind ?? 'internal', data.retryable ?? false));
    } else {
      pending.resolve(msg.result);
    }
  }
}
