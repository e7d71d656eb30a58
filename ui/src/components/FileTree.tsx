import { useMemo } from 'react';
import { client, useLoad } from '../api';
import type { FileEntry } from '../protocol/generated';

export function FileTree({ projectId, changed, onOpen, active }: { projectId: string; changed: number; onOpen: (path: string) => void; active: string | null }) {
  const tree = useLoad(() => client.call<FileEntry[]>('files.tree', { project_id: projectId }), [projectId, changed]);
  const entries = useMemo(() => tree.data ?? [], [tree.data]);
  return (
    <nav className="tree" aria-label="Files">
      {tree.error ? <p className="error">{tree.error}</p> : null}
      <ul>
        {entries.map((e) => {
          const depth = e.path.split('/').length - 1;
          const name = e.path.split('/').pop();
          return (
            <li key={e.path} style={{ paddingLeft: `${depth * 12 + 4}px` }}>
              {e.kind === 'dir' ? (
                <span className="dir">{name}/</span>
              ) : (
                <button
                  className={`link file${active === e.path ? ' active' : ''}`}
                  title={e.non_utf8_name ? 'This name is not valid UTF-8: rename it to open it here' : e.path}
                  disabled={!!e.non_utf8_name}
                  onClick={() => onOpen(e.path)}
                  aria-label={`Open file ${e.path}`}
                >
                  {name}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {entries.length === 0 && !tree.error ? <p className="muted">No files yet.</p> : null}
    </nav>
  );
}
