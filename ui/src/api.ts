/** The one client of this page and the hooks components use. */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { Event } from './protocol/generated';
import { RpcClient, type ConnectionState } from './rpc/client';
import { TauriTransport, WebSocketTransport, takeToken } from './rpc/transport';

/** In the desktop app (Tauri): native dialogs, the system browser for links, the embedded server's settings. */
export const desktop: boolean = TauriTransport.available();

export const token: string | null = desktop ? null : takeToken();

function makeClient(): RpcClient {
  if (desktop) return new RpcClient(new TauriTransport());
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${window.location.host}/ws?token=${encodeURIComponent(token ?? '')}`;
  return new RpcClient(new WebSocketTransport(url));
}

export const client = makeClient();

export function useConnection(): ConnectionState {
  return useSyncExternalStore(
    (l) => client.onState(l),
    () => client.state,
  );
}

/** Calls `listener` for each event of `topic` while mounted (`topic` null: nothing). */
export function useTopic(topic: string | null, listener: (event: Event) => void): void {
  useEffect(() => {
    if (!topic) return;
    return client.subscribe(topic, listener);
    // The listener is expected to be stable (useCallback) or cheap to resubscribe.
  }, [topic, listener]);
}

/** A value loaded with `load`, reloaded whenever `deps` change, the connection reopens, or `reload()` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const status = useConnection().status;
  useEffect(() => {
    if (status !== 'open') return;
    let live = true;
    load().then(
      (v) => {
        if (live) {
          setData(v);
          setError(null);
        }
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, status]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
