/** How JSON-RPC messages travel: a WebSocket to `atelier serve`, or Tauri IPC in the desktop app. */
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

export class WebSocketTransport implements Transport {
  private ws: WebSocket | null = null;
  constructor(private readonly url: string) {}

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
        if (opened) handlers.close(e.reason || `closed (${e.code})`);
        else reject(new Error(e.code === 1006 ? 'the server cannot be reached' : `refused (${e.code})`));
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

/** Tauri IPC: `rpc` carries one JSON-RPC message and returns the response; `events` streams notifications through a Channel. */
export class TauriTransport implements Transport {
  private handlers: TransportHandlers | null = null;

  static available(): boolean {
    return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
  }

  async open(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    const { Channel } = await import('@tauri-apps/api/core');
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => this.handlers?.message(typeof m === 'string' ? JSON.parse(m) : m);
    await this.internals().invoke('events', { channel });
  }

  send(value: unknown): void {
    this.internals()
      .invoke('rpc', { request: JSON.stringify(value) })
      .then((text) => {
        if (typeof text === 'string' && text) this.handlers?.message(JSON.parse(text));
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
