/**
 * The colour theme: the person's choice (System, Light or Dark; the setting `ui.theme`, mirrored
 * in localStorage so the inline script of index.html applies it before the first paint) and the theme in
 * force, which follows the OS's prefers-color-scheme under System. The page's colours are the
 * tokens of tokens.css under `<html data-theme>`; Monaco and xterm get themes built from the
 * same colours here.
 */
import { useSyncExternalStore } from 'react';
import { create } from 'zustand';

export type Theme = 'light' | 'dark';
export type ThemeChoice = 'system' | Theme;
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark'];
export const STORAGE_KEY = 'atelier.theme';
export const THEME_SETTING = 'ui.theme';

const query = () => (typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null);

export const isChoice = (v: unknown): v is ThemeChoice => typeof v === 'string' && (THEME_CHOICES as readonly string[]).includes(v);

function storedChoice(): ThemeChoice {
  try {
    const v = window.localStorage.getItem(STORAGE_KEY);
    return isChoice(v) ? v : 'system';
  } catch {
    return 'system';
  }
}

/** The person's choice (zustand: Settings, the palette and the status bar share it). */
export const useThemeChoice = create<{ choice: ThemeChoice }>(() => ({ choice: storedChoice() }));

/** The theme a choice gives now. */
export function resolve(choice: ThemeChoice): Theme {
  if (choice !== 'system') return choice;
  return query()?.matches ? 'dark' : 'light';
}

export function currentTheme(): Theme {
  return resolve(useThemeChoice.getState().choice);
}

/** Puts the theme in force on <html> (the tokens follow `data-theme`). */
function apply(): void {
  if (typeof document === 'undefined') return;
  const theme = currentTheme();
  const root = document.documentElement;
  if (root.dataset.theme !== theme) root.dataset.theme = theme;
  root.style.colorScheme = theme;
}

/**
 * Chooses a theme: applied at once, kept in localStorage (for the next first paint) and, through
 * `save`, in the setting `ui.theme` (the lasting copy, shared by the desktop app and browsers).
 */
export function chooseTheme(choice: ThemeChoice, save?: (key: string, value: string | null) => Promise<unknown>): void {
  try {
    if (choice === 'system') window.localStorage.removeItem(STORAGE_KEY);
    else window.localStorage.setItem(STORAGE_KEY, choice);
  } catch {
    // Storage refused: the choice lasts for this page (and in the setting).
  }
  useThemeChoice.setState({ choice });
  // An engine that does not know `ui.theme` yet refuses it: localStorage keeps the choice.
  save?.(THEME_SETTING, choice === 'system' ? null : choice).catch(() => undefined);
}

/** Adopts the choice stored on the server (another browser or the desktop app may have made it). */
export function adoptStoredChoice(value: unknown): void {
  const choice = isChoice(value) ? value : null;
  if (choice && choice !== useThemeChoice.getState().choice) chooseTheme(choice);
}

const listeners = new Set<() => void>();
function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  return () => listeners.delete(onChange);
}
function changed(): void {
  apply();
  for (const l of listeners) l();
}
if (typeof window !== 'undefined') {
  query()?.addEventListener?.('change', changed);
  useThemeChoice.subscribe(changed);
  apply();
}

/** The theme in force, followed live (OS changes under System, and the person's choice). */
export function useTheme(): Theme {
  return useSyncExternalStore(subscribe, currentTheme);
}

/** A token's value as the page computes it now (the theme in force). */
function token(name: string, fallback: string): string {
  if (typeof document === 'undefined') return fallback;
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return /^#[0-9a-f]{6}$/i.test(v) ? v : fallback;
}

const PALETTE = {
  light: { bg: '#ffffff', fg: '#1f2328', raised: '#f6f8fa', line: '#d0d7de', muted: '#5f6873', selection: '#add6ff', accent: '#2563eb' },
  dark: { bg: '#0d1117', fg: '#e6edf3', raised: '#161b22', line: '#30363d', muted: '#8d96a0', selection: '#264f78', accent: '#4c8dff' },
};

/** The page's colours for a theme (from the tokens when that theme is in force). */
export function colours(t: Theme) {
  const p = PALETTE[t];
  if (t !== currentTheme()) return p;
  return {
    bg: token('--bg', p.bg),
    fg: token('--fg', p.fg),
    raised: token('--bg-raised', p.raised),
    line: token('--line', p.line),
    muted: token('--muted', p.muted),
    selection: token('--selection', p.selection),
    accent: token('--accent', p.accent),
  };
}

/** The page's monospace fonts (`--font-mono`: the fontconfig default on Linux), for Monaco and xterm. */
export function monoFont(): string {
  if (typeof document === 'undefined') return 'monospace';
  return getComputedStyle(document.documentElement).getPropertyValue('--font-mono').trim() || 'monospace';
}

/** Monaco's theme for a scheme: its built-in syntax colours on the page's background. */
export const monacoTheme = (t: Theme) => (t === 'dark' ? 'atelier-dark' : 'atelier-light');

interface MonacoLike {
  editor: { defineTheme(name: string, data: { base: 'vs' | 'vs-dark'; inherit: boolean; rules: []; colors: Record<string, string> }): void };
}
/** Defines `atelier-light` and `atelier-dark` (call before creating an editor; cheap to repeat). */
export function defineMonacoThemes(monaco: MonacoLike): void {
  for (const t of ['light', 'dark'] as const) {
    const c = colours(t);
    monaco.editor.defineTheme(monacoTheme(t), {
      base: t === 'dark' ? 'vs-dark' : 'vs',
      inherit: true,
      rules: [],
      colors: {
        'editor.background': c.bg,
        'editor.foreground': c.fg,
        'editorGutter.background': c.bg,
        'editorLineNumber.foreground': c.muted,
        'editor.selectionBackground': c.selection,
        'editorWidget.background': c.raised,
        'editorWidget.border': c.line,
        'focusBorder': c.accent,
        'diffEditor.border': c.line,
      },
    });
  }
}

/** xterm.js's theme for a scheme: the page's background and text. */
export function xtermTheme(t: Theme) {
  const c = colours(t);
  return { background: c.bg, foreground: c.fg, cursor: c.fg, cursorAccent: c.bg, selectionBackground: c.selection };
}
