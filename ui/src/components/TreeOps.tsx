/**
 * File operations in the file tree: a context menu (right-click, the context-menu key or
 * Shift+F10) with New file, New folder, Rename and Delete; F2 renames inline; Delete asks, then
 * offers an Undo (`checkpoints.restore`). Open tabs follow a rename (`onRenamed`).
 */
import { useEffect, useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import { client, errorText } from '../api';
import type { FileEntry } from '../protocol/generated';
import type { Checkpoint, FileDeleted, FileUndo } from '../review-types';
import { namePaths, useUnsaved } from '../unsaved';
import { ConfirmDialog, UndoNote } from './Bits';

/** `path` after `from` was renamed to `to` (a folder's rename moves what is inside it). */
export function movedPath(path: string, from: string, to: string): string {
  if (path === from) return to;
  return path.startsWith(`${from}/`) ? `${to}${path.slice(from.length)}` : path;
}

/** Whether `path` is `base` or inside the folder `base`. */
export const within = (path: string, base: string) => path === base || path.startsWith(`${base}/`);

const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

interface Menu {
  entry: FileEntry | null;
  x: number;
  y: number;
}

export interface TreeOpsProps {
  projectId: string;
  onOpen: (path: string) => void;
  /** A file or folder was renamed (also by an undo): open tabs follow. */
  onRenamed?: (from: string, to: string) => void;
  /** A file or folder was deleted: its tabs close. */
  onDeleted?: (path: string) => void;
  reload: () => void;
}

export function useTreeOps({ projectId, onOpen, onRenamed, onDeleted, reload }: TreeOpsProps) {
  const [menu, setMenu] = useState<Menu | null>(null);
  const [creating, setCreating] = useState<{ dir: string; kind: 'file' | 'dir'; name: string } | null>(null);
  const [renaming, setRenaming] = useState<{ path: string; name: string } | null>(null);
  const [deleting, setDeleting] = useState<FileEntry | null>(null);
  const [note, setNote] = useState<{ text: string; undo?: Checkpoint; after?: () => void } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const unsaved = useUnsaved((s) => s.paths);

  const fail = (e: unknown) => setError(errorText(e));
  const done = () => {
    setError(null);
    reload();
  };

  const create = async () => {
    if (!creating) return;
    const name = creating.name.trim();
    if (!name) return setCreating(null);
    const path = join(creating.dir, name);
    try {
      await client.call('files.create', { project_id: projectId, path, kind: creating.kind });
      setCreating(null);
      done();
      if (creating.kind === 'file') onOpen(path);
    } catch (e) {
      fail(e);
    }
  };
  const rename = async () => {
    if (!renaming) return;
    const from = renaming.path;
    const to = join(parentOf(from), renaming.name.trim());
    setRenaming(null);
    if (!renaming.name.trim() || to === from) return;
    try {
      const { undo } = await client.call<FileUndo>('files.rename', { project_id: projectId, from, to });
      onRenamed?.(from, to);
      setNote({ text: `Renamed ${from} to ${to}.`, undo, after: () => onRenamed?.(to, from) });
      done();
    } catch (e) {
      fail(e);
    }
  };
  const remove = async (entry: FileEntry) => {
    setDeleting(null);
    try {
      const { undo, skipped } = await client.call<FileDeleted>('files.delete', { project_id: projectId, path: entry.path });
      onDeleted?.(entry.path);
      const kept = skipped?.length ? ` ${namePaths(skipped)} could not be kept for an undo (over 10 MiB).` : '';
      setNote({ text: `Deleted ${entry.path}.${kept}`, undo });
      done();
    } catch (e) {
      fail(e);
    }
  };
  const undo = async () => {
    if (!note?.undo) return;
    try {
      await client.call('checkpoints.restore', { project_id: projectId, id: note.undo.id });
      note.after?.();
      setNote(null);
      done();
    } catch (e) {
      fail(e);
    }
  };

  const startRename = (entry: FileEntry) => setRenaming({ path: entry.path, name: entry.path.split('/').pop() ?? entry.path });
  const startCreate = (entry: FileEntry | null, kind: 'file' | 'dir') =>
    setCreating({ dir: entry ? (entry.kind === 'dir' ? entry.path : parentOf(entry.path)) : '', kind, name: '' });

  /** Handlers for an entry's button: the context menu, F2 and Delete. */
  const entryProps = (entry: FileEntry) => ({
    'data-path': entry.path,
    onContextMenu: (e: MouseEvent<HTMLElement>) => {
      e.preventDefault();
      e.stopPropagation();
      setMenu({ entry, x: e.clientX, y: e.clientY });
    },
    onKeyDown: (e: KeyboardEvent<HTMLElement>) => {
      if (e.key === 'F2') {
        e.preventDefault();
        startRename(entry);
      } else if (e.key === 'Delete') {
        e.preventDefault();
        setDeleting(entry);
      } else if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) {
        e.preventDefault();
        const r = e.currentTarget.getBoundingClientRect();
        setMenu({ entry, x: r.left + 8, y: r.bottom });
      }
    },
  });
  /** For the tree's empty space: the menu for the project's root folder. */
  const rootProps = {
    onContextMenu: (e: MouseEvent<HTMLElement>) => {
      e.preventDefault();
      setMenu({ entry: null, x: e.clientX, y: e.clientY });
    },
  };

  /** The inline rename box for `entry`, while it is being renamed. */
  const renameBox = (entry: FileEntry): ReactNode =>
    renaming?.path === entry.path ? (
      <input
        className="rename"
        aria-label={`New name for ${entry.path}`}
        autoFocus
        value={renaming.name}
        onFocus={(e) => {
          // The name without its extension is selected, as editors do.
          const dot = e.currentTarget.value.lastIndexOf('.');
          e.currentTarget.setSelectionRange(0, entry.kind === 'file' && dot > 0 ? dot : e.currentTarget.value.length);
        }}
        onChange={(e) => setRenaming({ ...renaming, name: e.target.value })}
        onBlur={() => setRenaming(null)}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'Enter') void rename();
          else if (e.key === 'Escape') setRenaming(null);
        }}
      />
    ) : null;

  const dirtyInside = deleting ? unsaved.filter((p) => within(p, deleting.path)) : [];
  const overlays = (
    <>
      {menu ? (
        <ContextMenu
          x={menu.x}
          y={menu.y}
          label={menu.entry ? `Actions for ${menu.entry.path}` : 'Actions for the project folder'}
          onClose={() => setMenu(null)}
          items={[
            ['New file', () => startCreate(menu.entry, 'file')],
            ['New folder', () => startCreate(menu.entry, 'dir')],
            ...(menu.entry
              ? ([
                  ['Rename', () => menu.entry && startRename(menu.entry)],
                  ['Delete', () => setDeleting(menu.entry)],
                ] as [string, () => void][])
              : []),
          ]}
        />
      ) : null}
      {deleting ? (
        <ConfirmDialog label={`Delete ${deleting.path}`} confirm="Delete" danger onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(null)}>
          <p>
            Delete <code>{deleting.path}</code>
            {deleting.kind === 'dir' ? ' and everything in it' : ''}? A checkpoint keeps it: Undo brings it back.
          </p>
          {dirtyInside.length ? <p className="error">Your unsaved changes to {namePaths(dirtyInside)} will be lost.</p> : null}
        </ConfirmDialog>
      ) : null}
    </>
  );
  const top = (
    <>
      {creating ? (
        <div className="row">
          <span className="muted">{creating.dir ? `${creating.dir}/` : ''}</span>
          <input
            className="rename"
            aria-label={creating.kind === 'file' ? 'New file name' : 'New folder name'}
            placeholder={creating.kind === 'file' ? 'name.ext' : 'folder'}
            autoFocus
            value={creating.name}
            onChange={(e) => setCreating({ ...creating, name: e.target.value })}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void create();
              else if (e.key === 'Escape') setCreating(null);
            }}
          />
        </div>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {note ? <UndoNote text={note.text} onUndo={note.undo ? () => void undo() : undefined} onDismiss={() => setNote(null)} /> : null}
    </>
  );
  return { entryProps, rootProps, renameBox, overlays, top, startCreate };
}

/** A menu at (x, y): arrow keys move, Enter picks, Escape or a click elsewhere closes it. */
function ContextMenu({ x, y, label, items, onClose }: { x: number; y: number; label: string; items: [string, () => void][]; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const before = useRef<Element | null>(null);
  useEffect(() => {
    before.current = document.activeElement;
    ref.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: globalThis.MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) onClose();
    };
    window.addEventListener('mousedown', away);
    return () => window.removeEventListener('mousedown', away);
  }, [onClose]);
  const close = () => {
    onClose();
    if (before.current instanceof HTMLElement) before.current.focus();
  };
  return (
    <div
      ref={ref}
      className="context-menu"
      role="menu"
      aria-label={label}
      style={{ left: x, top: y }}
      onKeyDown={(e) => {
        const all = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
        const at = all.indexOf(document.activeElement as HTMLElement);
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
          e.preventDefault();
          all[(at + (e.key === 'ArrowDown' ? 1 : -1) + all.length) % all.length]?.focus();
        } else if (e.key === 'Home' || e.key === 'End') {
          e.preventDefault();
          all[e.key === 'Home' ? 0 : all.length - 1]?.focus();
        } else if (e.key === 'Escape' || e.key === 'Tab') {
          e.preventDefault();
          close();
        }
      }}
    >
      {items.map(([name, act]) => (
        <button
          key={name}
          role="menuitem"
          tabIndex={-1}
          onClick={() => {
            onClose();
            act();
          }}
        >
          {name}
        </button>
      ))}
    </div>
  );
}
