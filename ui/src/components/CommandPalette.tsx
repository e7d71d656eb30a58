import { useEffect, useMemo, useRef, useState } from 'react';
import { allCommands, fuzzyScore, modKey, useCommandRegistry, useCommands, type Command } from '../commands';

/** Whether a key event is the palette's shortcut: Ctrl+Shift+P (Cmd+Shift+P on macOS). */
export const isPaletteKey = (e: KeyboardEvent) => (e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey && e.key.toLowerCase() === 'p';

/**
 * Ctrl/Cmd+Shift+P: every action the UI has now (see commands.ts), by name with its shortcut,
 * filtered as one types; arrows move, Enter runs, Escape closes. Focus goes back where it was.
 */
export function CommandPalette() {
  const [open, setOpen] = useState(false);
  const returnTo = useRef<HTMLElement | null>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!isPaletteKey(e)) return;
      // Capture phase: Monaco and xterm would take the keys otherwise.
      e.preventDefault();
      e.stopPropagation();
      setOpen((o) => {
        if (!o) returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        return !o;
      });
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
  // The desktop's View → Command Palette (and any other caller) opens it too.
  useCommands([
    {
      id: 'palette.open',
      group: 'Atelier',
      title: 'Command palette',
      shortcut: `${modKey()}+Shift+P`,
      run: () => {
        returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        setOpen(true);
      },
    },
  ]);
  if (!open) return null;
  const close = (restoreFocus: boolean) => {
    setOpen(false);
    if (restoreFocus) returnTo.current?.focus?.();
  };
  return <Palette onClose={close} />;
}

function Palette({ onClose }: { onClose: (restoreFocus: boolean) => void }) {
  // Re-rendered when commands come or go while it is open.
  const owners = useCommandRegistry((s) => s.owners);
  const commands = useMemo(() => {
    void owners;
    return allCommands();
  }, [owners]);
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState(0);
  const matches = useMemo(() => {
    const scored: [Command, number][] = [];
    for (const c of commands) {
      const s = fuzzyScore(`${c.group ? `${c.group}: ` : ''}${c.title} ${c.keywords ?? ''}`, query);
      const t = fuzzyScore(c.title, query);
      const best = Math.max(s ?? -Infinity, t ?? -Infinity);
      if (best > -Infinity) scored.push([c, best]);
    }
    if (query.trim()) scored.sort((a, b) => b[1] - a[1] || a[0].title.localeCompare(b[0].title));
    else scored.sort((a, b) => (a[0].group ?? '').localeCompare(b[0].group ?? '') || a[0].title.localeCompare(b[0].title));
    return scored.map(([c]) => c);
  }, [commands, query]);
  const list = useRef<HTMLUListElement>(null);
  useEffect(() => setSelected(0), [query]);
  useEffect(() => {
    list.current?.querySelector('[aria-selected="true"]')?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);
  const run = (c: Command | undefined) => {
    if (!c) return;
    // Closed first: the command may move focus (a new terminal, a dialog).
    onClose(false);
    c.run();
  };
  const optionId = (c: Command) => `command-${c.id.replace(/[^a-z0-9_-]/gi, '-')}`;
  return (
    <div className="palette-scrim" onMouseDown={() => onClose(true)}>
      <div className="dialog palette" role="dialog" aria-modal="true" aria-label="Command palette" onMouseDown={(e) => e.stopPropagation()}>
        <input
          aria-label="Command"
          role="combobox"
          aria-expanded="true"
          aria-controls="palette-list"
          aria-activedescendant={matches[selected] ? optionId(matches[selected]) : undefined}
          autoFocus
          value={query}
          placeholder={`Type a command (${modKey()}+Shift+P opens this; Enter runs, Esc closes)`}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') onClose(true);
            else if (e.key === 'ArrowDown') setSelected((i) => (matches.length ? (i + 1) % matches.length : 0));
            else if (e.key === 'ArrowUp') setSelected((i) => (matches.length ? (i - 1 + matches.length) % matches.length : 0));
            else if (e.key === 'Home' && e.ctrlKey) setSelected(0);
            else if (e.key === 'End' && e.ctrlKey) setSelected(Math.max(0, matches.length - 1));
            else if (e.key === 'Enter') run(matches[selected]);
            else if (e.key === 'Tab') {
              // Focus stays in the dialog (keyboard only: nothing else to reach).
            } else return;
            e.preventDefault();
          }}
        />
        {matches.length === 0 ? <p className="muted palette-empty">No command matches “{query}”.</p> : null}
        <ul role="listbox" id="palette-list" aria-label="Commands" ref={list}>
          {matches.map((c, i) => (
            <li
              key={c.id}
              id={optionId(c)}
              role="option"
              aria-selected={i === selected}
              className={i === selected ? 'selected' : ''}
              onMouseDown={(e) => e.preventDefault()}
              onMouseMove={() => setSelected(i)}
              onClick={() => run(c)}
            >
              <span className="palette-title">
                {c.group ? <span className="muted">{c.group}: </span> : null}
                {c.title}
              </span>
              {c.shortcut ? <kbd>{c.shortcut}</kbd> : null}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
