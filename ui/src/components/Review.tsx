/**
 * The review of a workflow's changes before they are committed: each file in Monaco's diff
 * editor, its hunks listed with Accept / Reject, and a Submit that sends the decisions
 * (`workflows.review`). A file with some hunks rejected is accepted as `{path, hunks}`.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Check, X } from 'lucide-react';
import type * as Monaco from 'monaco-editor';
import { client, errorText } from '../api';
import type { Workflow } from '../protocol/generated';
import type { Hunk, ReviewAccept, ReviewFile } from '../review-types';
import { currentTheme, monacoTheme, monoFont } from '../theme';
import { splitHunks } from './Bits';
import { language, loadMonaco } from './Editor';

/** Per file, each hunk's decision: `true` accept, `false` reject, `null` not yet decided. */
type Decisions = Record<string, (boolean | null)[]>;

/** How many decisions a file needs: one per hunk, or one for the whole file when it has none. */
const slots = (f: ReviewFile) => Math.max(1, f.hunks.length);

/** The `accept` and `reject` lists of `workflows.review` for complete decisions. */
export function reviewParams(files: ReviewFile[], decisions: Decisions): { accept: ReviewAccept[]; reject: string[] } {
  const accept: ReviewAccept[] = [];
  const reject: string[] = [];
  for (const f of files) {
    const d = decisions[f.path] ?? [];
    if (d.every((x) => x === true)) accept.push(f.path);
    else if (d.every((x) => x === false)) reject.push(f.path);
    else accept.push({ path: f.path, hunks: f.hunks.filter((_, i) => d[i] === true).map((h) => h.index) });
  }
  return { accept, reject };
}

const hunkLines = (h: Hunk) =>
  h.new_lines > 0 ? `lines ${h.new_start}–${h.new_start + h.new_lines - 1}` : `removes lines ${h.old_start}–${h.old_start + h.old_lines - 1}`;

function decisionText(d: boolean | null): string {
  return d === true ? 'accepted' : d === false ? 'rejected' : 'undecided';
}

/** The diff editor: `file` side by side, the `focus` hunk highlighted and scrolled to. */
function ReviewDiff({ file, focus }: { file: ReviewFile; focus: Hunk | null }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<Monaco.editor.IStandaloneDiffEditor | null>(null);
  const monacoRef = useRef<typeof Monaco | null>(null);
  const decorations = useRef<{ original: string[]; modified: string[] }>({ original: [], modified: [] });
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    loadMonaco().then(
      (monaco) => {
        if (!live || !host.current) return;
        monacoRef.current = monaco;
        editor.current = monaco.editor.createDiffEditor(host.current, {
          automaticLayout: true,
          readOnly: true,
          originalEditable: false,
          theme: monacoTheme(currentTheme()),
          fontFamily: monoFont(),
          renderSideBySide: true,
          // Before and after side by side even in the narrow side panel.
          useInlineViewWhenSpaceIsLimited: false,
          minimap: { enabled: false },
        });
        setReady(true);
      },
      (e: unknown) => live && setError(`The diff editor could not load: ${errorText(e)}`),
    );
    return () => {
      live = false;
      const model = editor.current?.getModel();
      editor.current?.dispose();
      model?.original.dispose();
      model?.modified.dispose();
      editor.current = null;
    };
  }, []);
  useEffect(() => {
    const monaco = monacoRef.current;
    const ed = editor.current;
    if (!ready || !monaco || !ed) return;
    const old = ed.getModel();
    const original = monaco.editor.createModel(file.before ?? '', language(file.path));
    const modified = monaco.editor.createModel(file.after ?? '', language(file.path));
    ed.setModel({ original, modified });
    // Screen readers (and the accessibility audit) name each side.
    ed.getOriginalEditor().updateOptions({ ariaLabel: `${file.path} before the workflow` });
    ed.getModifiedEditor().updateOptions({ ariaLabel: `${file.path} as the workflow changed it` });
    decorations.current = { original: [], modified: [] };
    old?.original.dispose();
    old?.modified.dispose();
  }, [ready, file]);
  useEffect(() => {
    const ed = editor.current;
    if (!ready || !ed) return;
    const side = (e: Monaco.editor.ICodeEditor, start: number, count: number, key: 'original' | 'modified') => {
      const range = { startLineNumber: start, startColumn: 1, endLineNumber: Math.max(start, start + count - 1), endColumn: 1 };
      decorations.current[key] = e.deltaDecorations(
        decorations.current[key],
        focus && count > 0 ? [{ range, options: { isWholeLine: true, className: 'review-hunk-focus', linesDecorationsClassName: 'review-hunk-gutter' } }] : [],
      );
      if (focus) e.revealLinesInCenter(range.startLineNumber, range.endLineNumber);
    };
    if (!focus) {
      side(ed.getOriginalEditor(), 1, 0, 'original');
      side(ed.getModifiedEditor(), 1, 0, 'modified');
      return;
    }
    side(ed.getOriginalEditor(), Math.max(1, focus.old_start), focus.old_lines, 'original');
    side(ed.getModifiedEditor(), Math.max(1, focus.new_start), focus.new_lines, 'modified');
  }, [ready, file, focus]);
  return (
    <>
      {error ? <p className="error">{error}</p> : null}
      <div ref={host} className="monaco-diff" aria-label={`Diff of ${file.path}`} data-path={file.path} data-hunk={focus?.index ?? ''} />
    </>
  );
}

export function ReviewView({ workflowId, files, onReviewed }: { workflowId: string; files: ReviewFile[]; onReviewed: (w: Workflow) => void }) {
  const [decisions, setDecisions] = useState<Decisions>(() => Object.fromEntries(files.map((f) => [f.path, Array<boolean | null>(slots(f)).fill(null)])));
  const [selected, setSelected] = useState(files[0]?.path ?? '');
  const [focus, setFocus] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const file = files.find((f) => f.path === selected) ?? files[0];
  const texts = useMemo(() => Object.fromEntries(files.map((f) => [f.path, splitHunks(f.diff)])), [files]);

  const decide = (path: string, value: boolean, index?: number) =>
    setDecisions((d) => ({ ...d, [path]: (d[path] ?? []).map((x, i) => (index === undefined || i === index ? value : x)) }));
  const decideAll = (value: boolean) => setDecisions((d) => Object.fromEntries(Object.entries(d).map(([p, xs]) => [p, xs.map(() => value)])));
  const undecided = files.filter((f) => (decisions[f.path] ?? []).some((x) => x === null));

  const show = (path: string, hunk: number | null) => {
    setSelected(path);
    setFocus(hunk);
  };
  const submit = async () => {
    setBusy(true);
    try {
      const w = await client.call<Workflow>('workflows.review', { id: workflowId, ...reviewParams(files, decisions) });
      setError(null);
      onReviewed(w);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const focusHunk = file && focus !== null && file.hunks[focus] ? file.hunks[focus] : null;
  return (
    <section className="review" aria-label="Review changes">
      <h4>Review the changes before they are committed</h4>
      <p className="muted">Accept or reject each change (hunk) or whole files, then submit: only what you accept is committed; what you reject is put back.</p>
      <div className="row">
        <button onClick={() => decideAll(true)}>
          <Check size={14} />
          Accept all
        </button>
        <button onClick={() => decideAll(false)}>
          <X size={14} />
          Reject all
        </button>
        <button className="primary" disabled={busy || undecided.length > 0} onClick={() => void submit()} aria-label="Submit review">
          Submit review
        </button>
        {undecided.length > 0 ? (
          <span className="muted" role="note">
            Still to decide: {undecided.map((f) => f.path).join(', ')}
          </span>
        ) : null}
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {file ? <ReviewDiff file={file} focus={focusHunk} /> : <p className="muted">The workflow changed no files: submit to finish it.</p>}
      <ul className="review-files" aria-label="Files to review">
        {files.map((f) => {
          const d = decisions[f.path] ?? [];
          const fileState = d.every((x) => x === true) ? 'accepted' : d.every((x) => x === false) ? 'rejected' : d.some((x) => x === null) ? 'undecided' : 'partly accepted';
          return (
            <li key={f.path} className={`review-file${f.path === file?.path ? ' selected' : ''}`} aria-label={`File ${f.path}`}>
              <div className="row">
                <button className="link" aria-pressed={f.path === file?.path} onClick={() => show(f.path, null)} aria-label={`Show ${f.path}`}>
                  {f.path}
                </button>
                <span className="muted">
                  {(f.before ?? null) === null ? 'new file · ' : (f.after ?? null) === null ? 'deleted · ' : ''}
                  <span className="plus">+{f.additions}</span> <span className="minus">−{f.deletions}</span>
                </span>
                <span className="decision">{fileState}</span>
                <button aria-label={`Accept file ${f.path}`} onClick={() => decide(f.path, true)}>
                  Accept file
                </button>
                <button aria-label={`Reject file ${f.path}`} onClick={() => decide(f.path, false)}>
                  Reject file
                </button>
              </div>
              {f.hunks.length > 0 ? (
                <ol className="review-hunks" aria-label={`Changes in ${f.path}`}>
                  {f.hunks.map((h, i) => (
                    <li
                      key={h.index}
                      className={`review-hunk ${decisionText(d[i] ?? null)}${f.path === file?.path && focus === i ? ' current' : ''}`}
                      aria-label={`Change ${i + 1} of ${f.path}: ${decisionText(d[i] ?? null)}`}
                    >
                      <div className="row">
                        <button className="link" onClick={() => show(f.path, i)} aria-label={`Show change ${i + 1} of ${f.path}`}>
                          Change {i + 1} · {hunkLines(h)}
                        </button>
                        <span className="decision">{decisionText(d[i] ?? null)}</span>
                        <button
                          aria-label={`Accept change ${i + 1} of ${f.path}`}
                          aria-pressed={d[i] === true}
                          onClick={() => {
                            decide(f.path, true, i);
                            show(f.path, i);
                          }}
                        >
                          Accept
                        </button>
                        <button
                          aria-label={`Reject change ${i + 1} of ${f.path}`}
                          aria-pressed={d[i] === false}
                          onClick={() => {
                            decide(f.path, false, i);
                            show(f.path, i);
                          }}
                        >
                          Reject
                        </button>
                      </div>
                      {texts[f.path]?.[i] ? (
                        <pre className="unified-diff">
                          {texts[f.path][i].split('\n').map((line, k) => (
                            <div key={k} className={line.startsWith('@@') ? 'hdr' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : ''}>
                              {line || ' '}
                            </div>
                          ))}
                        </pre>
                      ) : null}
                    </li>
                  ))}
                </ol>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
