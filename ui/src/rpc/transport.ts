/** How JSON-RPC messages travel: a WebSocket to `atelier serve`, or Tauri IPC in the desktop app. */
import { Channel } from '@tauri-apps/api/core';

export interface TransportHandlers {
  message(value: unknown): void;
  close(reason: string): void;
}

export interface Transport {
  /** Resolves once messages can be sent; rejects when the connection cannot be made. */
  open(handlers: TransportHandlers): Promise<void>;
  send(value: unknown): void;
  close(): void;
}

const TOKEN_KEY = 'atelier.token';

/** The access token: taken from `#token=…` on first load (then removed from the address bar), kept in sessionStorage. */
export function takeToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(loc.hash);
  if (match) {
    storage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    window.history.replaceState(null, '', loc.pathname + loc.search);
  }
  return storage.getItem(TOKEN_KEY);
}

/** The connection was refused because of the access token (not because the server is down): retrying cannot help. */
export class TokenRefused extends Error {
  readonly fatal = true;
  constructor() {
    super('The access token was refused: open the link `atelier serve` printed');
  }
}

/** `GET /auth/check` of the server a `/ws` URL points at, with the same query (the token). */
export function authCheckUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/ws$|\/$/, '') + '/auth/check';
  return url.toString();
}

/**
 * Whether the server refuses the token: a refused WebSocket upgrade (401) looks to page scripts
 * exactly like an unreachable server (1006), so the server is asked. Anything but a 401 (the
 * server is down, or too old to know `/auth/check`) is not a refusal.
 */
async function tokenRefused(checkUrl: string): Promise<boolean> {
  try {
    const response = await fetch(checkUrl, { cache: 'no-store', credentials: 'omit' });
    return response.status === 401;
  } catch {
    return false;
  }
}

export class WebSocketTransport implements Transport {
  private ws: WebSocket | null = null;
  constructor(
    private readonly url: string,
    private readonly checkUrl: string = authCheckUrl(url),
  ) {}

  open(handlers: TransportHandlers): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (e) => {
        if (typeof e.data !== 'string') return;
        try {
          handlers.message(JSON.parse(e.data));
        } catch {
          // A frame that is not JSON is the server's bug; nothing to do with it here.
        }
      };
      // What went wrong arrives with the close event that always follows.
      ws.onerror = () => undefined;
      ws.onclose = (e) => {
        if (this.ws === ws) this.ws = null;
        if (opened) {
          handlers.close(e.reason || `closed (${e.code})`);
          return;
        }
        const error = new Error(e.code === 1006 ? 'the server cannot be reached' : `refused (${e.code})`);
        void tokenRefused(this.checkUrl).then((refused) => reject(refused ? new TokenRefused() : error));
      };
    });
  }

  send(value: unknown): void {
    this.ws?.send(JSON.stringify(value));
  }

  close(): void {
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }
}

interface TauriInternals {
  invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
}

/**
 * Tauri IPC: `rpc` carries one JSON-RPC message and returns the response (the parsed JSON, or its
 * text from older shells; `null` or `""` for a notification); `events` streams notifications
 * through a Channel.
 */
export class TauriTransport implements Transport {
  private handlers: TransportHandlers | null = null;

  static available(): boolean {
    return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
  }

  async open(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => this.handlers?.message(typeof m === 'string' ? JSON.parse(m) : m);
    await this.internals().invoke('events', { channel });
  }

  send(value: unknown): void {
    this.internals()
      .invoke('rpc', { request: JSON.stringify(value) })
      .then((response) => {
        if (response === null || response === undefined || response === '') return;
        this.handlers?.message(typeof response === 'string' ? JSON.parse(response) : response);
      })
      .catch((e: unknown) => this.handlers?.close(String(e)));
  }

  close(): void {
    this.handlers = null;
  }

  private internals(): TauriInternals {
    return (window as unknown as { __TAURI_INTERNALS__: TauriInternals }).__TAURI_INTERNALS__;
  }
}
