/** Monaco is loaded on first use, from the bundle (never a CDN). */
import type * as Monaco from 'monaco-editor';
import { defineMonacoThemes } from '../theme';

type MonacoModule = typeof Monaco;
let monacoPromise: Promise<MonacoModule> | null = null;

export function loadMonaco(): Promise<MonacoModule> {
  monacoPromise ??= (async () => {
    const [{ default: EditorWorker }, monaco] = await Promise.all([
      import('monaco-editor/editor/editor.worker?worker'),
      import('../monaco'),
    ]);
    (self as unknown as { MonacoEnvironment: Monaco.Environment }).MonacoEnvironment = { getWorker: () => new EditorWorker() };
    // The page's colours (tokens.css) for every editor, the diff views' included.
    defineMonacoThemes(monaco);
    return monaco as unknown as MonacoModule;
  })();
  return monacoPromise;
}
