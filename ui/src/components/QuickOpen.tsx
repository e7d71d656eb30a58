import { useEffect, useMemo, useState } from 'react';
import { client, errorText } from '../api';
import type { FileEntry } from '../protocol/generated';

const SHOWN = 50;

/**
 * How well `query` matches `path`: its letters in order (case-insensitive), scored higher when
 * they fall in the file's name, start a word or run together; `null` when they do not all occur.
 */
export function score(path: string, query: string): number | null {
  const p = path.toLowerCase();
  const q = query.toLowerCase().replace(/\s+/g, '');
  if (!q) return 0;
  const nameStart = p.lastIndexOf('/') + 1;
  let at = -1;
  let total = 0;
  for (const ch of q) {
    const next = p.indexOf(ch, at + 1);
    if (next < 0) return null;
    total += 1;
    if (next === at + 1) total += 2; // runs together
    if (next >= nameStart) total += 2; // in the name, not the folders
    if (next === 0 || '/._-'.includes(p[next - 1])) total += 3; // starts a word
    at = next;
  }
  return total - p.length / 100; // shorter paths first among equals
}

/** Ctrl/Cmd+P: find a file of the project by typing part of its path, and open it. */
export function QuickOpen({ projectId, onOpen, onClose }: { projectId: string; onOpen: (path: string) => void; onClose: () => void }) {
  const [files, setFiles] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState(0);
  useEffect(() => {
    client.call<FileEntry[]>('files.tree', { project_id: projectId }).then(
      (entries) => setFiles(entries.filter((e) => e.kind === 'file' && !e.non_utf8_name).map((e) => e.path)),
      (e: unknown) => setError(errorText(e)),
    );
  }, [projectId]);
  const matches = useMemo(() => {
    const scored: [string, number][] = [];
    for (const path of files ?? []) {
      const s = score(path, query);
      if (s !== null) scored.push([path, s]);
    }
    scored.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return scored.slice(0, SHOWN).map(([path]) => path);
  }, [files, query]);
  useEffect(() => setSelected(0), [query]);
  const open = (path: string | undefined) => {
    if (!path) return;
    onOpen(path);
    onClose();
  };
  return (
    <div className="dialog quick-open" role="dialog" aria-label="Go to file">
      <input
        aria-label="File name"
        autoFocus
        value={query}
        placeholder="Type part of a file's path (Enter opens, Esc closes)"
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose();
          else if (e.key === 'ArrowDown') setSelected((i) => Math.min(i + 1, matches.length - 1));
          else if (e.key === 'ArrowUp') setSelected((i) => Math.max(i - 1, 0));
          else if (e.key === 'Enter') open(matches[selected]);
          else return;
          e.preventDefault();
        }}
      />
      {error ? <p className="error">{error}</p> : null}
      {files === null && !error ? <p className="muted">Loading the file list…</p> : null}
      {files !== null && matches.length === 0 ? <p className="muted">No file matches.</p> : null}
      <ul role="listbox" aria-label="Matching files">
        {matches.map((path, i) => (
          <li key={path} role="option" aria-selected={i === selected} className={i === selected ? 'selected' : ''} onMouseDown={(e) => e.preventDefault()} onClick={() => open(path)}>
            {path.split('/').pop()} <span className="muted">{path}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
