/**
 * The "Changes" bar under a chat with tools: the files its agent changed that are not yet kept
 * or undone (`sessions.changes`, kept current by `session.changes`), each with its +/− counts,
 * its diff on a click, and Keep / Undo; Keep all / Undo all. An undo can itself be undone.
 */
import { useCallback, useEffect, useState } from 'react';
import { ChevronDown, ChevronRight } from 'lucide-react';
import { client, errorText, useLoad, useTopic } from '../api';
import type { Event } from '../protocol/generated';
import type { Checkpoint, SessionChange } from '../review-types';
import { UndoNote, UnifiedDiff } from './Bits';

export function ChangesBar({ sessionId, projectId }: { sessionId: string; projectId: string }) {
  const loaded = useLoad(() => client.call<SessionChange[]>('sessions.changes', { session_id: sessionId }), [sessionId]);
  const [files, setFiles] = useState<SessionChange[]>([]);
  const [open, setOpen] = useState(true);
  const [shown, setShown] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; undo?: Checkpoint } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (loaded.data) setFiles(loaded.data);
  }, [loaded.data]);
  useTopic(
    `session/${sessionId}`,
    useCallback(
      (e: Event) => {
        if (e.type === 'session.changes') setFiles(((e.data as { files?: SessionChange[] }).files ?? []) as SessionChange[]);
        else if (e.type === 'stream.gap') loaded.reload();
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [],
    ),
  );

  const act = async (method: 'sessions.keep' | 'sessions.revert', paths?: string[]) => {
    setBusy(true);
    try {
      const result = await client.call<{ undo?: Checkpoint }>(method, paths ? { session_id: sessionId, paths } : { session_id: sessionId });
      const what = paths ? paths.join(', ') : 'all files';
      setNote(method === 'sessions.keep' ? { text: `Kept the changes to ${what}.` } : { text: `Undid the changes to ${what}.`, undo: result.undo });
      setError(null);
      if (paths?.includes(shown ?? '') || !paths) setShown(null);
      loaded.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const redo = async () => {
    if (!note?.undo) return;
    try {
      await client.call('checkpoints.restore', { project_id: projectId, id: note.undo.id });
      setNote(null);
      loaded.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  if (files.length === 0 && !note && !error) return null;
  const additions = files.reduce((n, f) => n + f.additions, 0);
  const deletions = files.reduce((n, f) => n + f.deletions, 0);
  const diff = files.find((f) => f.path === shown);
  return (
    <section className="changes-bar" aria-label="Changes">
      {files.length > 0 ? (
        <div className="row">
          <button className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? <ChevronDown size={12} aria-hidden /> : <ChevronRight size={12} aria-hidden />}
            Changes: {files.length} file{files.length === 1 ? '' : 's'}
          </button>
          <span className="plus">+{additions}</span>
          <span className="minus">−{deletions}</span>
          <span className="spacer" />
          <button disabled={busy} onClick={() => void act('sessions.keep')}>
            Keep all
          </button>
          <button disabled={busy} onClick={() => void act('sessions.revert')}>
            Undo all
          </button>
        </div>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {note ? <UndoNote text={note.text} undoLabel="Redo" onUndo={note.undo ? () => void redo() : undefined} onDismiss={() => setNote(null)} /> : null}
      {open && files.length > 0 ? (
        <ul aria-label="Changed files">
          {files.map((f) => (
            <li key={f.path}>
              <button className="link" aria-expanded={shown === f.path} aria-label={`Show changes to ${f.path}`} onClick={() => setShown(shown === f.path ? null : f.path)}>
                {f.path}
              </button>
              <span className="plus" aria-label={`${f.additions} lines added`}>
                +{f.additions}
              </span>
              <span className="minus" aria-label={`${f.deletions} lines removed`}>
                −{f.deletions}
              </span>
              <span className="spacer" />
              <button disabled={busy} aria-label={`Keep ${f.path}`} onClick={() => void act('sessions.keep', [f.path])}>
                Keep
              </button>
              <button disabled={busy} aria-label={`Undo changes to ${f.path}`} onClick={() => void act('sessions.revert', [f.path])}>
                Undo
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {open && diff ? <UnifiedDiff diff={diff.diff} label={`Changes to ${diff.path}`} /> : null}
    </section>
  );
}
