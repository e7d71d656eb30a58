/**
 * What only the desktop app (Tauri) offers: native folder and save dialogs, links opened in the
 * system browser, and the embedded server (`server_status` / `server_set`) that serves this UI
 * to browsers. Call these only when `desktop` (see `api.ts`) is true — except `ask`, which
 * asks a question the right way in both.
 */
import { invoke } from '@tauri-apps/api/core';
// Static, not `import()`: a module fetched while the page loads holds WebKit's load event, and
// with it the desktop window's first paint (docs/benchmarks.md, 2026-12-07).
import { listen } from '@tauri-apps/api/event';
import { getCurrentWindow } from '@tauri-apps/api/window';
import { confirm, open, save } from '@tauri-apps/plugin-dialog';
import { openUrl } from '@tauri-apps/plugin-opener';
import { create } from 'zustand';
import { desktop, errorText } from './api';

export interface ServerStatus {
  running: boolean;
  /** `http://ADDR:PORT` while running. */
  address: string | null;
  /** The address to open in a browser, with the token. */
  link: string | null;
  token: string;
  port: number;
  /** Bound to every interface (reachable from other machines) rather than loopback. */
  public: boolean;
  /** While public: the addresses other machines use (`http://IP:PORT`); may be empty. */
  reachable_at: string[];
  error: string | null;
}

export interface ServerChoice {
  enabled: boolean;
  port: number;
  public: boolean;
}

/** The embedded server's state, shared by Settings and the app's warning bar. */
export const useServer = create<{ status: ServerStatus | null; failure: string | null; busy: boolean }>(() => ({
  status: null,
  failure: null,
  busy: false,
}));

/** Whether the server is meant to run: running, or asked to and failed to start. */
export const serverEnabled = (s: ServerStatus): boolean => s.running || s.error !== null;

export async function loadServer(): Promise<void> {
  try {
    useServer.setState({ status: await invoke<ServerStatus>('server_status') });
  } catch (e) {
    useServer.setState({ failure: errorText(e) });
  }
}

/** Starts, restarts or stops the server; a refusal (e.g. the port is taken) is kept in `failure`. */
export async function setServer(choice: ServerChoice): Promise<void> {
  useServer.setState({ busy: true });
  try {
    const status = await invoke<ServerStatus>('server_set', { ...choice });
    useServer.setState({ status, failure: null });
  } catch (e) {
    useServer.setState({ failure: errorText(e) });
    await loadServer();
  } finally {
    useServer.setState({ busy: false });
  }
}

/**
 * Asks a yes/no question and resolves with the answer. In the desktop app this is the native
 * dialog: there the dialog plugin replaces `window.confirm` with an asynchronous version whose
 * result (a Promise, always truthy) a plain `if (!window.confirm(…))` never waits for, so the
 * action would go ahead whatever the answer. Browsers get their own `window.confirm`.
 */
export async function ask(message: string, title = 'Atelier'): Promise<boolean> {
  if (!desktop) return window.confirm(message);
  return confirm(message, { title, kind: 'warning' });
}

/** The native folder picker; `null` when cancelled. */
export async function chooseFolder(): Promise<string | null> {
  const picked = await open({ directory: true, multiple: false });
  return typeof picked === 'string' ? picked : null;
}

/** The native Save dialog for a zip; `null` when cancelled. */
export async function chooseZip(defaultName: string): Promise<string | null> {
  return save({ defaultPath: defaultName, filters: [{ name: 'Zip archive', extensions: ['zip'] }] });
}

/** Opens an http(s) link in the system browser. */
export function openExternal(url: string): Promise<void> {
  return openUrl(url);
}

/** The folder named on the command line (`atelier-desktop ~/code/app`), once; else `null`. */
export function takeLaunchFolder(): Promise<string | null> {
  return invoke<string | null>('take_launch_folder');
}

/**
 * Calls `handler` with each folder a later launch names (`atelier-desktop FOLDER` while the app
 * runs: the single-instance plugin hands it over). Returns the function that stops listening.
 */
export function onOpenFolder(handler: (path: string) => void): () => void {
  let stop: (() => void) | undefined;
  let stopped = false;
  void listen<string>('open-folder', (e) => handler(e.payload)).then((unlisten) => {
    if (stopped) unlisten();
    else stop = unlisten;
  });
  return () => {
    stopped = true;
    stop?.();
  };
}

/**
 * Calls `handler` with the id of each native menu item chosen (the shell's `menu` event; the ids
 * are the command palette's, see src-tauri/src/menu.rs). Returns the function that stops listening.
 */
export function onMenu(handler: (id: string) => void): () => void {
  let stop: (() => void) | undefined;
  let stopped = false;
  void listen<string>('menu', (e) => handler(e.payload)).then((unlisten) => {
    if (stopped) unlisten();
    else stop = unlisten;
  });
  return () => {
    stopped = true;
    stop?.();
  };
}

/** Names the window (the open project); the browser build sets `document.title` instead. */
export function setWindowTitle(title: string): Promise<void> {
  // Inside a promise: a shell without a window (tests) is a rejection for the caller to catch.
  return Promise.resolve().then(() => getCurrentWindow().setTitle(title));
}
