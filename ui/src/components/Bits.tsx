/**
 * Small pieces the review, file-operation and find-in-files views share: a confirmation dialog
 * with an accessible name, a unified diff shown line by line, and a note with an Undo button.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import './review.css';

/**
 * A modal question in the page (the desktop webview shows no blocking dialogs of its own): Enter
 * or the confirm button says yes, Escape or Cancel says no. Focus starts on the confirm button.
 */
export function ConfirmDialog({
  label,
  children,
  confirm,
  danger,
  onConfirm,
  onCancel,
}: {
  label: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const yes = useRef<HTMLButtonElement>(null);
  const before = useRef<Element | null>(null);
  useEffect(() => {
    before.current = document.activeElement;
    yes.current?.focus();
    // Focus goes back where it was (e.g. the tree entry) when the dialog closes.
    return () => (before.current instanceof HTMLElement ? before.current.focus() : undefined);
  }, []);
  return (
    <div className="modal-backdrop">
      <div
        className="modal"
        role="alertdialog"
        aria-modal="true"
        aria-label={label}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            onCancel();
          }
        }}
      >
        <div className="modal-body">{children}</div>
        <div className="row">
          <button ref={yes} className={danger ? 'danger' : undefined} onClick={onConfirm}>
            {confirm}
          </button>
          <button onClick={onCancel}>Cancel</button>
        </div>
      </div>
    </div>
  );
}

/** A unified diff, added and removed lines coloured (headers muted). */
export function UnifiedDiff({ diff, label }: { diff: string; label: string }) {
  return (
    <pre className="unified-diff" aria-label={label}>
      {diff.split('\n').map((line, i) => (
        <div
          key={i}
          className={
            line.startsWith('+++') || line.startsWith('---') || line.startsWith('@@') ? 'hdr' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : ''
          }
        >
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}

/** What was just done, with a way to undo it (e.g. a delete, a replace, a rejection). */
export function UndoNote({ text, onUndo, onDismiss, undoLabel = 'Undo' }: { text: string; onUndo?: () => void; onDismiss: () => void; undoLabel?: string }) {
  return (
    <div className="undo-note" role="status">
      <span>{text}</span>
      {onUndo ? <button onClick={onUndo}>{undoLabel}</button> : null}
      <button aria-label="Dismiss" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}

/** The hunks of a unified diff, in order: each `@@` header with the lines under it. */
export function splitHunks(diff: string): string[] {
  const hunks: string[] = [];
  let current: string[] | null = null;
  for (const line of diff.split('\n')) {
    if (line.startsWith('@@')) {
      if (current) hunks.push(current.join('\n'));
      current = [line];
    } else if (current && !line.startsWith('diff --git')) {
      current.push(line);
    }
  }
  if (current) hunks.push(current.join('\n').replace(/\n+$/, ''));
  return hunks;
}
