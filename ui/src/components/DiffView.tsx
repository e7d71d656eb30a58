import { useEffect, useRef, useState } from 'react';
import type * as Monaco from 'monaco-editor';
import { client, errorText } from '../api';
import type { GitShown } from '../protocol/generated';
import { language, loadMonaco } from './Editor';
import { currentTheme, monacoTheme, monoFont } from '../theme';

/** What a commit changed in one file, side by side in Monaco's diff editor. */
export function DiffView({
  projectId,
  commit,
  path,
  onClose,
  firstCommit,
  oldPath,
}: {
  projectId: string;
  commit: string;
  path: string;
  onClose: () => void;
  firstCommit?: boolean;
  /** A file the commit renamed: its path at the parent. */
  oldPath?: string | null;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let editor: Monaco.editor.IStandaloneDiffEditor | null = null;
    const models: Monaco.editor.ITextModel[] = [];
    let live = true;
    const show = (rev: string, at = path) => client.call<GitShown>('git.show', { project_id: projectId, rev, path: at });
    // A repository's first commit has no parent: everything in it is new.
    const before = firstCommit ? Promise.resolve<GitShown>({ content: null }) : show(`${commit}^`, oldPath ?? path);
    Promise.all([loadMonaco(), before, show(commit)]).then(
      ([monaco, before, after]) => {
        if (!live || !host.current) return;
        editor = monaco.editor.createDiffEditor(host.current, { automaticLayout: true, readOnly: true, theme: monacoTheme(currentTheme()), fontFamily: monoFont(), renderSideBySide: true, originalAriaLabel: `${path} before the commit`, modifiedAriaLabel: `${path} after the commit` });
        const original = monaco.editor.createModel(before.content ?? '', language(path));
        const modified = monaco.editor.createModel(after.content ?? '', language(path));
        models.push(original, modified);
        editor.setModel({ original, modified });
      },
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
      editor?.dispose();
      for (const m of models) m.dispose();
    };
  }, [projectId, commit, path, firstCommit, oldPath]);
  return (
    <div className="diffview" role="dialog" aria-label={`Changes to ${path}`}>
      <div className="row">
        <strong>{path}</strong> <span className="muted">as commit {commit.slice(0, 8)} changed it</span>
        <button onClick={onClose}>Close diff</button>
      </div>
      {error ? <p className="error">{error}</p> : null}
      <div ref={host} className="monaco-diff" />
    </div>
  );
}
