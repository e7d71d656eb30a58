/**
 * Files with unsaved edits in the editor, so that leaving the project or closing the desktop
 * window can ask first instead of losing them.
 */
import { invoke } from '@tauri-apps/api/core';
import { create } from 'zustand';
import { ask } from './desktop';

export const useUnsaved = create<{ paths: string[] }>(() => ({ paths: [] }));

/** "a.txt", "a.txt and b.txt", "a.txt, b.txt and 3 more files". */
export function namePaths(paths: string[]): string {
  const names = paths.map((p) => p.split('/').pop() ?? p);
  if (names.length <= 2) return names.join(' and ');
  const rest = names.length - 2;
  return `${names.slice(0, 2).join(', ')} and ${rest} more file${rest > 1 ? 's' : ''}`;
}

/**
 * Resolves `true` when nothing unsaved would be lost by `action` (e.g. "Close Atelier"), or
 * when the person answers that it may be lost.
 */
export async function mayDiscardUnsaved(action: string): Promise<boolean> {
  const { paths } = useUnsaved.getState();
  if (paths.length === 0) return true;
  return ask(question(paths, action), 'Unsaved changes');
}

const question = (paths: string[], action: string) => `Your changes to ${namePaths(paths)} are not saved and will be lost. ${action} anyway?`;

/**
 * Desktop: keeps the shell told what to ask before the window closes (`set_close_question`),
 * `null` while nothing is unsaved. The shell asks it itself, so the window closes whatever the
 * page is doing (WebKitGTK shows no `beforeunload` question). Returns the unsubscribe function.
 */
export function tellShellBeforeClose(): () => void {
  let told: string | null | undefined;
  const tell = (paths: string[]) => {
    const next = paths.length ? question(paths, 'Close Atelier') : null;
    if (next === told) return;
    told = next;
    invoke('set_close_question', { question: next }).catch(() => undefined);
  };
  tell(useUnsaved.getState().paths);
  return useUnsaved.subscribe((s) => tell(s.paths));
}
