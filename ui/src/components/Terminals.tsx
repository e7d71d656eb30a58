import { useCallback, useEffect, useRef, useState } from 'react';
import { Plus, X } from 'lucide-react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { client, errorText, useConnection } from '../api';
import { onTabKeys } from '../tabs';
import type { Event, TerminalInfo, TerminalOpened, TerminalScrollback } from '../protocol/generated';
import { RpcError } from '../rpc/client';
import { currentTheme, monoFont, useTheme, xtermTheme } from '../theme';

/**
 * The project's open terminals, kept in sessionStorage: the shells live on in the server when
 * the panel is hidden, another project is opened or the page reloads, and are reattached
 * (their scrollback replayed) when shown again. Each time the panel is shown (and the
 * connection comes back) `terminals.list` says which shells the server has: those opened
 * elsewhere (another window or browser) are attached too, those it no longer has are dropped.
 */
const storageKey = (projectId: string) => `atelier.terminals.${projectId}`;
export function savedTerminals(projectId: string): string[] {
  try {
    const ids: unknown = JSON.parse(window.sessionStorage.getItem(storageKey(projectId)) ?? '[]');
    return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
function saveTerminals(projectId: string, ids: string[]): void {
  window.sessionStorage.setItem(storageKey(projectId), JSON.stringify(ids));
}

/**
 * The part of an output batch (bytes from `start`) past `shownUpTo`, the offset up to which the
 * screen already has the output; `null` when it has all of it.
 */
export function unseen(data: Uint8Array, start: number, shownUpTo: number): Uint8Array | null {
  if (start + data.length <= shownUpTo) return null;
  return start >= shownUpTo ? data : data.subarray(shownUpTo - start);
}

function decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** One shell: xterm.js with the fit addon, WebGL when it works (DOM renderer otherwise). */
function TerminalView({ id, visible, onExit }: { id: string; visible: boolean; onExit: (code: number | null | 'gone') => void }) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  /** Output below this offset is already on screen (from the scrollback). */
  const shownUpTo = useRef(0);
  const early = useRef<{ data: Uint8Array; offset: number }[] | null>([]);
  const exitRef = useRef(onExit);
  useEffect(() => {
    exitRef.current = onExit;
  }, [onExit]);

  useEffect(() => {
    if (!host.current) return;
    // Screen-reader mode keeps the rows' text in the DOM (the WebGL renderer draws on a canvas).
    const t = new Terminal({ fontSize: 13, fontFamily: monoFont(), cursorBlink: true, allowProposedApi: true, screenReaderMode: true, theme: xtermTheme(currentTheme()) });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(host.current);
    import('@xterm/addon-webgl')
      .then(({ WebglAddon }) => {
        // preserveDrawingBuffer: WebKitGTK (the Linux desktop shell) shows a blank canvas without it.
        const webgl = new WebglAddon(true);
        // A lost context (GPU reset, too many contexts): back to the DOM renderer.
        webgl.onContextLoss(() => webgl.dispose());
        t.loadAddon(webgl);
      })
      .catch(() => undefined); // No WebGL here: xterm keeps its DOM renderer.
    term.current = t;
    fit.current = f;
    let pending = '';
    let timer: ReturnType<typeof setTimeout> | null = null;
    const input = t.onData((data) => {
      pending += data;
      timer ??= setTimeout(() => {
        const chunk = pending;
        pending = '';
        timer = null;
        client.call('terminals.write', { terminal_id: id, data: chunk }).catch((e: unknown) => {
          if (e instanceof RpcError && e.kind === 'not_found') exitRef.current('gone');
        });
      }, 8);
    });
    const resize = t.onResize(({ cols, rows }) => void client.call('terminals.resize', { terminal_id: id, cols, rows }).catch(() => undefined));
    /** Writes a batch that starts at byte `start`, skipping what is already on screen. */
    const show = (data: Uint8Array, start: number) => {
      const fresh = unseen(data, start, shownUpTo.current);
      if (!fresh) return;
      t.write(fresh);
      shownUpTo.current = start + data.length;
    };
    /** The screen so far from the scrollback, then the output that arrived meanwhile. */
    let attached = false;
    const attach = () => {
      early.current = [];
      client.call<TerminalScrollback>('terminals.scrollback', { terminal_id: id }).then(
        (s) => {
          attached = true;
          t.reset();
          t.write(decode(s.data_b64));
          shownUpTo.current = s.offset;
          for (const e of early.current ?? []) show(e.data, e.offset);
          early.current = null;
        },
        (e: unknown) => {
          early.current = null;
          // The shell is gone (closed elsewhere, or the server restarted): nothing to attach to.
          if (e instanceof RpcError && e.kind === 'not_found') {
            attached = true;
            exitRef.current('gone');
          }
        },
      );
    };
    // Reattaching: subscribe first, then fetch the scrollback, so no output falls between them.
    const unsubscribe = client.subscribe(`terminal/${id}`, (e: Event) => {
      const d = e.data as { data_b64?: string; offset?: number; code?: number | null };
      if (e.type === 'terminal.output' && d.data_b64) {
        const data = decode(d.data_b64);
        const start = d.offset ?? 0;
        if (early.current) early.current.push({ data, offset: start });
        else show(data, start);
      } else if (e.type === 'terminal.exited') exitRef.current(d.code ?? null);
      // Output was missed (a long disconnection): the scrollback has the screen.
      else if (e.type === 'stream.gap') attach();
    });
    attach();
    // Mounted while the connection was down: attach once it is back.
    const offState = client.onState(() => {
      if (!attached && early.current === null && client.state.status === 'open') attach();
    });
    return () => {
      offState();
      unsubscribe();
      input.dispose();
      resize.dispose();
      t.dispose();
    };
  }, [id]);

  const theme = useTheme();
  useEffect(() => {
    if (term.current) term.current.options.theme = xtermTheme(theme);
  }, [theme]);

  useEffect(() => {
    if (!visible) return;
    const f = fit.current;
    const fitNow = () => {
      // Hidden (the workspace under Settings): nothing to measure; the shell keeps its size.
      if (host.current?.closest('[hidden]')) return;
      try {
        f?.fit();
      } catch {
        // Not laid out yet.
      }
    };
    fitNow();
    const observer = new ResizeObserver(fitNow);
    if (host.current) observer.observe(host.current);
    term.current?.focus();
    return () => observer.disconnect();
  }, [visible]);

  return <div ref={host} className="xterm-host" style={{ display: visible ? 'block' : 'none' }} aria-label="Terminal output" />;
}

type Exit = number | null | 'gone' | undefined;
type Tab = { id: string; exited: Exit };

/**
 * The tabs once the server listed its terminals (oldest first): the known ones keep their place,
 * those listed but unknown here are added in the server's order, and known ones it no longer
 * lists are dropped, except those opened here after the list was asked for (`keep`).
 */
export function mergeListed(tabs: Tab[], listed: string[], keep: ReadonlySet<string> = new Set()): Tab[] {
  const onServer = new Set(listed);
  const kept = tabs.filter((t) => onServer.has(t.id) || keep.has(t.id));
  const known = new Set(kept.map((t) => t.id));
  return [...kept, ...listed.filter((id) => !known.has(id)).map((id) => ({ id, exited: undefined }))];
}

/** `openNew`: open a new terminal now (the palette's "New terminal"); `onOpenedNew` says it was. */
export function Terminals({ projectId, openNew = false, onOpenedNew }: { projectId: string; openNew?: boolean; onOpenedNew?: () => void }) {
  const [terms, setTerms] = useState<Tab[]>(() => savedTerminals(projectId).map((id) => ({ id, exited: undefined })));
  const [active, setActive] = useState<string | null>(() => terms[terms.length - 1]?.id ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => saveTerminals(projectId, terms.filter((t) => t.exited !== 'gone').map((t) => t.id)), [projectId, terms]);
  /** Terminals opened here while a `terminals.list` is on its way (its answer may not have them). */
  const openedMeanwhile = useRef<Set<string> | null>(null);
  const status = useConnection().status;
  useEffect(() => {
    if (status !== 'open') return;
    let live = true;
    const opened = new Set<string>();
    openedMeanwhile.current = opened;
    client.call<TerminalInfo[]>('terminals.list', { project_id: projectId }).then(
      (list) => {
        if (!live) return;
        const ids = list.map((t) => t.terminal_id);
        setTerms((tabs) => mergeListed(tabs, ids, opened));
        // The tab shown stays; if it is gone (or none was), the newest terminal is shown.
        setActive((a) => (a && (ids.includes(a) || opened.has(a)) ? a : (ids[ids.length - 1] ?? null)));
      },
      () => undefined, // An older server without `terminals.list`: what sessionStorage knows is all there is.
    );
    return () => {
      live = false;
      if (openedMeanwhile.current === opened) openedMeanwhile.current = null;
    };
  }, [projectId, status]);
  const open = async () => {
    try {
      const { terminal_id } = await client.call<TerminalOpened>('terminals.open', { project_id: projectId, cols: 100, rows: 20 });
      openedMeanwhile.current?.add(terminal_id);
      setTerms((t) => [...t, { id: terminal_id, exited: undefined }]);
      setActive(terminal_id);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => {
    if (!openNew) return;
    onOpenedNew?.();
    void open();
    // `open` is recreated each render; the request alone says when to act.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [openNew]);
  const close = (id: string) => {
    void client.call('terminals.close', { terminal_id: id }).catch(() => undefined);
    setTerms((t) => t.filter((x) => x.id !== id));
    setActive((a) => (a === id ? null : a));
  };
  const onExit = useCallback((id: string, code: Exit) => setTerms((t) => t.map((x) => (x.id === id ? { ...x, exited: code } : x))), []);
  const label = (exited: Exit) => (exited === undefined ? '' : exited === 'gone' ? ' (ended)' : ` (exited ${exited ?? ''})`);
  return (
    <section className="terminals" aria-label="Terminals">
      <div role="tablist" aria-label="Terminal tabs" className="tabs" onKeyDown={onTabKeys}>
        {terms.map((t, i) => (
          <span key={t.id} className="tab">
            <button role="tab" aria-selected={t.id === active} onClick={() => setActive(t.id)}>
              Terminal {i + 1}
              {label(t.exited)}
            </button>
            <button aria-label={`Close terminal ${i + 1}`} onClick={() => close(t.id)}>
              <X size={12} />
            </button>
          </span>
        ))}
        <button onClick={() => void open()}>
          <Plus size={14} />
          New terminal
        </button>
        <span className="muted hint">Ctrl+` hides or shows this panel</span>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {terms.length === 0 ? <p className="muted empty-state">No terminal open. New terminal opens a shell in the project’s folder.</p> : null}
      <div className="term-body">
        {terms.map((t) => (
          <TerminalView key={t.id} id={t.id} visible={t.id === active} onExit={(code) => onExit(t.id, code)} />
        ))}
      </div>
    </section>
  );
}
