import { useCallback, useEffect, useState } from 'react';
import { Search, X } from 'lucide-react';
import { client, errorText, useTopic } from '../api';
import type { CodeHit, Event } from '../protocol/generated';

/**
 * A search box over the code index (`code.search`: definitions and text, any spelling of an
 * identifier). While it holds a query its results replace the file tree; a result opens its
 * file at the line.
 */
export function CodeSearch({ projectId, onOpen, onActive }: { projectId: string; onOpen: (path: string, line: number) => void; onActive: (active: boolean) => void }) {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<CodeHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Bumped when the index changed: the results are searched again (a file just saved shows). */
  const [indexed, setIndexed] = useState(0);
  useTopic(
    `project/${projectId}`,
    useCallback((e: Event) => {
      if (e.type === 'index.updated' || e.type === 'index.ready') setIndexed((n) => n + 1);
    }, []),
  );
  useEffect(() => onActive(query.trim() !== ''), [query, onActive]);
  useEffect(() => {
    if (!query.trim()) {
      setHits(null);
      return;
    }
    let live = true;
    // Typing settles first: one search per pause, not per key.
    const timer = setTimeout(() => {
      client.call<CodeHit[]>('code.search', { project_id: projectId, query, limit: 30 }).then(
        (h) => {
          if (!live) return;
          setHits(h);
          setError(null);
        },
        (e: unknown) => live && setError(errorText(e)),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query, projectId, indexed]);
  return (
    <div className="code-search">
      <div className="code-search-box">
        <Search size={12} aria-hidden />
        <input
          aria-label="Search code"
          placeholder="Search code"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && setQuery('')}
        />
        {query ? (
          <button className="link" aria-label="Clear the code search" onClick={() => setQuery('')}>
            <X size={12} />
          </button>
        ) : null}
      </div>
      {error ? <p className="error">{error}</p> : null}
      {hits ? (
        <ul className="code-hits" aria-label="Code search results">
          {hits.map((h) => (
            <li key={`${h.path}:${h.start_line}`}>
              <button className="link code-hit" onClick={() => onOpen(h.path, h.line)} title={`${h.path}, lines ${h.start_line}–${h.end_line}`}>
                <span className="code-hit-where">
                  {h.path}:{h.line}
                  {h.symbol ? <span className="code-hit-symbol"> {h.symbol}</span> : null}
                </span>
                <pre className="code-hit-snippet">{h.snippet.split('\n').slice(0, 4).join('\n')}</pre>
              </button>
            </li>
          ))}
          {hits.length === 0 ? <li className="muted">Nothing matches.</li> : null}
        </ul>
      ) : null}
    </div>
  );
}
