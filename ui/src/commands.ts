/**
 * The UI's actions by name, for the command palette (Ctrl/Cmd+Shift+P) and the desktop's native
 * menu (src-tauri/src/menu.rs sends an item's id; App runs the command of that id: keep the ids
 * the menu names — project.open, chat.new, terminal.new, settings.open, palette.open, file.goto,
 * search.files, terminal.toggle, theme.toggle, workflow.new, git.commit). Components register
 * what they can do while they are mounted (`useCommands`); the palette lists what is registered
 * now. Actions that live in a component mounted later (e.g. the find-in-files panel) are reached
 * through `requestAction`: the palette's command fires a named request that the component hooks
 * with `onAction` (see ACTIONS).
 */
import { useEffect, useRef } from 'react';
import { create } from 'zustand';

export interface Command {
  /** Stable and unique, e.g. `terminal.new`. */
  id: string;
  /** What the palette shows and filters on, e.g. "New terminal". */
  title: string;
  /** A group shown beside the title, e.g. "Terminal". */
  group?: string;
  /** The keys as a person reads them, e.g. "Ctrl+`" (shown, not bound: the owner binds it). */
  shortcut?: string;
  /** Other words that should find it ("dark", "light" for the theme). */
  keywords?: string;
  run: () => void;
}

interface Registry {
  /** Registered commands by owner (a component instance), in registration order. */
  owners: Map<symbol, Command[]>;
}

export const useCommandRegistry = create<Registry>(() => ({ owners: new Map() }));

/** Registers `commands` for `owner` (replacing what it had); returns the function that removes them. */
export function registerCommands(owner: symbol, commands: Command[]): () => void {
  useCommandRegistry.setState((s) => {
    const owners = new Map(s.owners);
    owners.set(owner, commands);
    return { owners };
  });
  return () =>
    useCommandRegistry.setState((s) => {
      const owners = new Map(s.owners);
      owners.delete(owner);
      return { owners };
    });
}

/** Every command registered now (a later registration of an id wins). */
export function allCommands(): Command[] {
  const byId = new Map<string, Command>();
  for (const list of useCommandRegistry.getState().owners.values()) for (const c of list) byId.set(c.id, c);
  return [...byId.values()];
}

/**
 * Registers the commands while the calling component is mounted. `commands` may change on every
 * render: the registry is updated when its ids, titles or shortcuts change, and `run` always
 * calls the latest closure.
 */
export function useCommands(commands: Command[]): void {
  const owner = useRef(Symbol('commands'));
  const latest = useRef(commands);
  useEffect(() => {
    latest.current = commands;
  });
  const key = commands.map((c) => `${c.id}|${c.title}|${c.shortcut ?? ''}|${c.group ?? ''}`).join('\n');
  useEffect(() => {
    const stable = latest.current.map((c) => ({ ...c, run: () => latest.current.find((x) => x.id === c.id)?.run() }));
    return registerCommands(owner.current, stable);
    // `key` stands for the commands' identity; their `run` is read from `latest`.
  }, [key]);
}

/**
 * Requests another part of the UI can hook (the component that does the work listens with
 * `onAction`). Names are part of the contract between components: keep them.
 */
export const ACTIONS = {
  /** Open the find-in-files panel (optionally with a query): `{ query?: string }`. */
  findInFiles: 'atelier:find-in-files',
  /** Open the git panel's commit box. */
  gitCommit: 'atelier:git-commit',
} as const;
export type ActionName = (typeof ACTIONS)[keyof typeof ACTIONS];

/** Fires an action request (a DOM CustomEvent on window); returns whether someone handled it. */
export function requestAction(name: ActionName, detail: Record<string, unknown> = {}): boolean {
  const event = new CustomEvent(name, { detail, cancelable: true });
  window.dispatchEvent(event);
  // A handler calls preventDefault() to say it took the request.
  return event.defaultPrevented;
}

/** Hooks an action request while mounted; the handler's request counts as handled. */
export function onAction(name: ActionName, handler: (detail: Record<string, unknown>) => void): () => void {
  const listener = (e: Event) => {
    e.preventDefault();
    handler((e as CustomEvent<Record<string, unknown>>).detail ?? {});
  };
  window.addEventListener(name, listener);
  return () => window.removeEventListener(name, listener);
}

/** The platform's name for the main modifier: "Cmd" on macOS, "Ctrl" elsewhere. */
export function modKey(): 'Cmd' | 'Ctrl' {
  if (typeof navigator === 'undefined') return 'Ctrl';
  const uaData = (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData;
  const platform = uaData?.platform ?? navigator.platform ?? '';
  return /mac/i.test(platform) ? 'Cmd' : 'Ctrl';
}

/**
 * How well `query` matches `text`: its letters in order (case-insensitive), higher when they
 * start words or run together; `null` when they do not all occur.
 */
export function fuzzyScore(text: string, query: string): number | null {
  const t = text.toLowerCase();
  const q = query.toLowerCase().replace(/\s+/g, ' ').trim();
  if (!q) return 0;
  // Every word of the query as a substring ranks first ("new term" → "New terminal").
  const words = q.split(' ');
  if (words.every((w) => t.includes(w))) return 1000 - t.length + (t.startsWith(words[0]) ? 100 : 0);
  let at = -1;
  let total = 0;
  for (const ch of q.replace(/ /g, '')) {
    const next = t.indexOf(ch, at + 1);
    if (next < 0) return null;
    total += 1;
    if (next === at + 1) total += 2;
    if (next === 0 || ' ./_-:'.includes(t[next - 1])) total += 3;
    at = next;
  }
  return total - t.length / 100;
}
