import { useCallback, useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { client, errorText, useTopic } from '../api';
import type { Event, TerminalOpened, TerminalScrollback } from '../protocol/generated';

function decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** One shell: xterm.js with the fit addon, WebGL when it works (DOM renderer otherwise). */
function TerminalView({ id, visible, onExit }: { id: string; visible: boolean; onExit: (code: number | null) => void }) {
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
    const t = new Terminal({ fontSize: 13, cursorBlink: true, allowProposedApi: true, screenReaderMode: true });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(host.current);
    import('@xterm/addon-webgl')
      .then(({ WebglAddon }) => {
        const webgl = new WebglAddon(true);
        webgl.onContextLoss(() => webgl.dispose());
        t.loadAddon(webgl);
      })
      .catch(() => undefined);
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
        client.call('terminals.write', { terminal_id: id, data: chunk }).catch(() => undefined);
      }, 8);
    });
    const resize = t.onResize(({ cols, rows }) => void client.call('terminals.resize', { terminal_id: id, cols, rows }).catch(() => undefined));
    // Reattaching: the screen so far, then only output past it.
    client.call<TerminalScrollback>('terminals.scrollback', { terminal_id: id }).then(
      (s) => {
        t.write(decode(s.data_b64));
        shownUpTo.current = s.offset;
        for (const e of early.current ?? []) if (e.offset > shownUpTo.current) t.write(e.data);
        early.current = null;
      },
      () => (early.current = null),
    );
    return () => {
      input.dispose();
      resize.dispose();
      t.dispose();
    };
  }, [id]);

  useEffect(() => {
    if (!visible) return;
    const f = fit.current;
    const fitNow = () => {
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

  useTopic(
    `terminal/${id}`,
    useCallback(
      (e: Event) => {
        const d = e.data as { data_b64?: string; offset?: number; code?: number | null };
        if (e.type === 'terminal.output' && d.data_b64) {
          const data = decode(d.data_b64);
          const end = d.offset ?? 0;
          if (early.current) early.current.push({ data, offset: end });
          else if (end > shownUpTo.current) {
            term.current?.write(data);
            shownUpTo.current = end;
          }
        } else if (e.type === 'terminal.exited') exitRef.current(d.code ?? null);
      },
      [],
    ),
  );
  return <div ref={host} className="xterm-host" style={{ display: visible ? 'block' : 'none' }} aria-label="Terminal output" />;
}

export function Terminals({ projectId }: { projectId: string }) {
  const [terms, setTerms] = useState<{ id: string; exited: number | null | undefined }[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const open = async () => {
    try {
      const { terminal_id } = await client.call<TerminalOpened>('terminals.open', { project_id: projectId, cols: 100, rows: 20 });
      setTerms((t) => [...t, { id: terminal_id, exited: undefined }]);
      setActive(terminal_id);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const close = (id: string) => {
    void client.call('terminals.close', { terminal_id: id }).catch(() => undefined);
    setTerms((t) => t.filter((x) => x.id !== id));
    setActive((a) => (a === id ? null : a));
  };
  const onExit = useCallback((id: string, code: number | null) => setTerms((t) => t.map((x) => (x.id === id ? { ...x, exited: code } : x))), []);
  return (
    <section className="terminals" aria-label="Terminals">
      <div role="tablist" aria-label="Terminal tabs" className="tabs">
        {terms.map((t, i) => (
          <span key={t.id} className="tab">
            <button role="tab" aria-selected={t.id === active} onClick={() => setActive(t.id)}>
              Terminal {i + 1}
              {t.exited !== undefined ? ` (exited ${t.exited ?? ''})` : ''}
            </button>
            <button aria-label={`Close terminal ${i + 1}`} onClick={() => close(t.id)}>
              ×
            </button>
          </span>
        ))}
        <button onClick={() => void open()}>New terminal</button>
        <span className="muted hint">Ctrl+` hides or shows this panel</span>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <div className="term-body">
        {terms.map((t) => (
          <TerminalView key={t.id} id={t.id} visible={t.id === active} onExit={(code) => onExit(t.id, code)} />
        ))}
      </div>
    </section>
  );
}
