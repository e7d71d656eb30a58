/** The colour scheme the OS asks for, followed live (the CSS does the same with its media query). */
import { useSyncExternalStore } from 'react';

export type Theme = 'light' | 'dark';

const query = () => (typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null);

export function currentTheme(): Theme {
  return query()?.matches ? 'dark' : 'light';
}

export function useTheme(): Theme {
  return useSyncExternalStore(
    (onChange) => {
      const q = query();
      q?.addEventListener?.('change', onChange);
      return () => q?.removeEventListener?.('change', onChange);
    },
    currentTheme,
  );
}

/** Monaco's built-in theme for a scheme. */
export const monacoTheme = (t: Theme) => (t === 'dark' ? 'vs-dark' : 'vs');
