import { useEffect, useMemo, useState } from 'react';
import { ChevronDown, ChevronRight, FilePlus, FolderPlus, Search } from 'lucide-react';
import { client, useLoad } from '../api';
import type { FileEntry } from '../protocol/generated';
import { useTreeOps, type TreeOpsProps } from './TreeOps';
import { fileIcon, folderIcon } from '../fileIcons';

/** Beyond this many entries the folders start closed: a big project opens folder by folder. */
export const OPEN_ALL_UP_TO = 300;

/** The folders that contain `path`: `a/b/c.txt` → `a`, `a/b`. */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function FileTree({
  projectId,
  changed,
  onOpen,
  active,
  onRenamed,
  onDeleted,
  onFind,
}: { projectId: string; changed: number; onOpen: (path: string) => void; active: string | null; onFind?: () => void } & Pick<TreeOpsProps, 'onRenamed' | 'onDeleted'>) {
  const tree = useLoad(() => client.call<FileEntry[]>('files.tree', { project_id: projectId }), [projectId, changed]);
  const ops = useTreeOps({ projectId, onOpen, onRenamed, onDeleted, reload: tree.reload });
  const entries = useMemo(() => tree.data ?? [], [tree.data]);
  /** Closed folders; `null` until the first listing decides (all open when the project is small). */
  const [closed, setClosed] = useState<Set<string> | null>(null);
  useEffect(() => {
    if (closed !== null || !tree.data) return;
    setClosed(new Set(tree.data.length > OPEN_ALL_UP_TO ? tree.data.filter((e) => e.kind === 'dir').map((e) => e.path) : []));
  }, [tree.data, closed]);
  // The open file is always in view: its folders open (e.g. after Ctrl+P).
  useEffect(() => {
    if (!active) return;
    setClosed((c) => (c && ancestors(active).some((a) => c.has(a)) ? new Set([...c].filter((d) => !ancestors(active).includes(d))) : c));
  }, [active]);
  const toggle = (dir: string) =>
    setClosed((c) => {
      const next = new Set(c ?? []);
      if (next.has(dir)) next.delete(dir);
      else next.add(dir);
      return next;
    });
  const shown = entries.filter((e) => !ancestors(e.path).some((a) => closed?.has(a)));
  return (
    <nav className="tree" aria-label="Files" {...ops.rootProps}>
      <div className="tree-actions">
        <button aria-label="New file" title="New file" onClick={() => ops.startCreate(null, 'file')}>
          <FilePlus size={14} />
        </button>
        <button aria-label="New folder" title="New folder" onClick={() => ops.startCreate(null, 'dir')}>
          <FolderPlus size={14} />
        </button>
        {onFind ? (
          <button aria-label="Find in files (Ctrl+Shift+F)" title="Find in files (Ctrl+Shift+F)" onClick={onFind}>
            <Search size={14} />
          </button>
        ) : null}
      </div>
      {ops.top}
      {tree.error ? <p className="error">{tree.error}</p> : null}
      <ul>
        {shown.map((e) => {
          const depth = e.path.split('/').length - 1;
          const name = e.path.split('/').pop();
          const open = !closed?.has(e.path);
          return (
            <li key={e.path} style={{ paddingLeft: `${depth * 12 + (e.kind === 'dir' ? 4 : 16)}px` }}>
              {ops.renameBox(e) ?? (e.kind === 'dir' ? (
                <button className="link dir" aria-expanded={open} aria-label={`Folder ${e.path}`} onClick={() => toggle(e.path)} {...ops.entryProps(e)}>
                  {open ? <ChevronDown size={12} aria-hidden /> : <ChevronRight size={12} aria-hidden />}
                  <img className="file-icon" src={folderIcon(e.path, open)} alt="" aria-hidden />
                  {name}
                </button>
              ) : (
                <button
                  className={`link file${active === e.path ? ' active' : ''}`}
                  title={e.non_utf8_name ? 'This name is not valid UTF-8: rename it to open it here' : e.path}
                  disabled={!!e.non_utf8_name}
                  onClick={() => onOpen(e.path)}
                  aria-label={`Open file ${e.path}`}
                  {...ops.entryProps(e)}
                >
                  <img className="file-icon" src={fileIcon(e.path)} alt="" aria-hidden />
                  {name}
                </button>
              ))}
            </li>
          );
        })}
      </ul>
      {entries.length === 0 && !tree.error && tree.data ? (
        <p className="muted empty-state">No files yet: ask the chat or start a workflow to write some, or open a terminal below and create them.</p>
      ) : null}
      {ops.overlays}
    </nav>
  );
}
