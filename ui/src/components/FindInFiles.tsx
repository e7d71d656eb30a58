/**
 * Find in files (Ctrl+Shift+F): `files.search` with regex / match case / a files glob, results
 * grouped by file with each line shown and the match marked; a result opens the editor at its
 * line. Replace: a preview (`files.replace {preview: true}`) of each file's diff with a box per
 * file, then a replace in the ticked files, with an Undo (`checkpoints.restore`).
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { CaseSensitive, Regex, Replace, Search, X } from 'lucide-react';
import { client, errorText } from '../api';
import type { Checkpoint, FileMatch, FilesReplaced, FilesSearched, FileReplaced } from '../review-types';
import { UndoNote, UnifiedDiff } from './Bits';

const LIMIT = 2000;

/** `text` with what matches marked (`<mark>`): by the query itself, or at the engine's column. */
export function markMatches(text: string, query: string, regex: boolean, caseSensitive: boolean, column: number): ReactNode[] {
  let ranges: [number, number][] = [];
  try {
    const re = new RegExp(regex ? query : query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), caseSensitive ? 'g' : 'gi');
    for (const m of text.matchAll(re)) {
      if (m[0].length === 0) break;
      ranges.push([m.index, m.index + m[0].length]);
    }
  } catch {
    // A pattern only the engine's regex syntax knows: mark from its column on.
    ranges = [];
  }
  if (ranges.length === 0 && column > 0) ranges = [[column - 1, Math.min(text.length, column - 1 + Math.max(1, regex ? 1 : query.length))]];
  const out: ReactNode[] = [];
  let at = 0;
  ranges.forEach(([a, b], i) => {
    if (a > at) out.push(text.slice(at, a));
    out.push(<mark key={i}>{text.slice(a, b)}</mark>);
    at = b;
  });
  out.push(text.slice(at));
  return out;
}

export function FindInFiles({ projectId, onOpen, onClose, focus }: { projectId: string; onOpen: (path: string, line: number) => void; onClose: () => void; focus: number }) {
  const [query, setQuery] = useState('');
  const [regex, setRegex] = useState(false);
  const [caseSensitive, setCaseSensitive] = useState(false);
  const [glob, setGlob] = useState('');
  const [result, setResult] = useState<FilesSearched | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [replacing, setReplacing] = useState(false);
  const [replacement, setReplacement] = useState('');
  const [preview, setPreview] = useState<FileReplaced[] | null>(null);
  const [ticked, setTicked] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<{ text: string; undo?: Checkpoint | null } | null>(null);
  const [busy, setBusy] = useState(false);
  /** Bumped to search again (after a replace or an undo). */
  const [again, setAgain] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [focus]);

  const base = useMemo(
    () => ({ project_id: projectId, query, ...(regex ? { regex: true } : {}), ...(caseSensitive ? { case_sensitive: true } : {}), ...(glob.trim() ? { glob: glob.trim() } : {}) }),
    [projectId, query, regex, caseSensitive, glob],
  );
  useEffect(() => {
    setPreview(null);
    if (!query) {
      setResult(null);
      setError(null);
      return;
    }
    let live = true;
    // One search per pause in typing.
    const timer = setTimeout(() => {
      client.call<FilesSearched>('files.search', { ...base, limit: LIMIT }).then(
        (r) => {
          if (!live) return;
          setResult(r);
          setError(null);
        },
        (e: unknown) => {
          if (!live) return;
          setResult(null);
          setError(errorText(e));
        },
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [base, query, again]);

  const groups = useMemo(() => {
    const byFile = new Map<string, FileMatch[]>();
    for (const m of result?.matches ?? []) byFile.set(m.path, [...(byFile.get(m.path) ?? []), m]);
    return [...byFile];
  }, [result]);

  const showPreview = async () => {
    setBusy(true);
    try {
      const r = await client.call<FilesReplaced>('files.replace', { ...base, replacement, preview: true });
      setPreview(r.files);
      setTicked(new Set(r.files.map((f) => f.path)));
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const apply = async () => {
    if (!preview) return;
    setBusy(true);
    try {
      const paths = preview.filter((f) => ticked.has(f.path)).map((f) => f.path);
      const r = await client.call<FilesReplaced>('files.replace', { ...base, replacement, paths });
      const count = r.files.reduce((n, f) => n + f.replacements, 0);
      setNote({ text: `Replaced ${count} match${count === 1 ? '' : 'es'} in ${r.files.length} file${r.files.length === 1 ? '' : 's'}.`, undo: r.undo });
      setPreview(null);
      setError(null);
      setAgain((n) => n + 1);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const undo = async () => {
    if (!note?.undo) return;
    try {
      await client.call('checkpoints.restore', { project_id: projectId, id: note.undo.id });
      setNote({ text: 'The replace is undone.' });
      setAgain((n) => n + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const tickedCount = preview?.filter((f) => ticked.has(f.path)).length ?? 0;
  return (
    <section className="find" aria-label="Find in files" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div className="row">
        <Search size={12} aria-hidden />
        <input ref={input} aria-label="Find" placeholder="Find in files" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button className="toggle" aria-label="Regular expression" title="Regular expression" aria-pressed={regex} onClick={() => setRegex(!regex)}>
          <Regex size={14} />
        </button>
        <button className="toggle" aria-label="Match case" title="Match case" aria-pressed={caseSensitive} onClick={() => setCaseSensitive(!caseSensitive)}>
          <CaseSensitive size={14} />
        </button>
        <button className="toggle" aria-label="Replace" title="Replace" aria-pressed={replacing} onClick={() => setReplacing(!replacing)}>
          <Replace size={14} />
        </button>
        <button aria-label="Close find in files" title="Close (Escape)" onClick={onClose}>
          <X size={14} />
        </button>
      </div>
      {replacing ? (
        <div className="row">
          <input aria-label="Replace with" placeholder={regex ? 'Replace with ($1, ${name})' : 'Replace with'} value={replacement} onChange={(e) => setReplacement(e.target.value)} />
          <button disabled={!query || busy} onClick={() => void showPreview()}>
            Preview
          </button>
        </div>
      ) : null}
      <div className="row">
        <input aria-label="Files to include" placeholder="Files to include, e.g. src/**/*.ts" value={glob} onChange={(e) => setGlob(e.target.value)} />
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {note ? <UndoNote text={note.text} onUndo={note.undo ? () => void undo() : undefined} onDismiss={() => setNote(null)} /> : null}
      {preview ? (
        <div aria-label="Replace preview" role="group">
          <div className="row">
            <button disabled={busy || tickedCount === 0} onClick={() => void apply()}>
              Replace in {tickedCount} file{tickedCount === 1 ? '' : 's'}
            </button>
            <button onClick={() => setPreview(null)}>Cancel</button>
          </div>
          {preview.length === 0 ? <p className="muted">Nothing to replace.</p> : null}
          <ul className="find-results">
            {preview.map((f) => (
              <li key={f.path}>
                <label>
                  <input
                    type="checkbox"
                    aria-label={`Replace in ${f.path}`}
                    checked={ticked.has(f.path)}
                    onChange={(e) =>
                      setTicked((t) => {
                        const next = new Set(t);
                        if (e.target.checked) next.add(f.path);
                        else next.delete(f.path);
                        return next;
                      })
                    }
                  />{' '}
                  <strong>{f.path}</strong> <span className="muted">{f.replacements} replacement{f.replacements === 1 ? '' : 's'}</span>
                </label>
                <UnifiedDiff diff={f.diff} label={`Preview of ${f.path}`} />
              </li>
            ))}
          </ul>
        </div>
      ) : result ? (
        <>
          <p className="muted" role="status">
            {result.matches.length} match{result.matches.length === 1 ? '' : 'es'} in {groups.length} file{groups.length === 1 ? '' : 's'}
            {result.truncated ? ` (only the first ${result.matches.length}: narrow the search)` : ''} · {result.files_searched} files searched
          </p>
          <ul className="find-results" aria-label="Find results">
            {groups.map(([path, matches]) => (
              <li key={path} aria-label={`Matches in ${path}`}>
                <strong>{path}</strong> <span className="muted">{matches.length}</span>
                <ul className="find-results">
                  {matches.map((m) => (
                    <li key={`${m.line}:${m.column}`}>
                      <button className="link find-line" aria-label={`${path} line ${m.line}: ${m.text.trim()}`} onClick={() => onOpen(path, m.line)}>
                        <span className="muted">{m.line}: </span>
                        {markMatches(m.text, query, regex, caseSensitive, m.column)}
                      </button>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
