/**
 * Files with unsaved edits in the editor, so that leaving the project or closing the desktop
 * window can ask first instead of losing them.
 */
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
  return ask(`Your changes to ${namePaths(paths)} are not saved and will be lost. ${action} anyway?`, 'Unsaved changes');
}
