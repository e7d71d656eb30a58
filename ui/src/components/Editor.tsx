import { useEffect, useRef, useState } from 'react';
import { Save, X } from 'lucide-react';
import type * as Monaco from 'monaco-editor';
import { client, errorText } from '../api';
import { ask } from '../desktop';
import { onTabKeys } from '../tabs';
import { useLiveFiles } from '../live';
import { useUnsaved } from '../unsaved';
import { currentTheme, defineMonacoThemes, monacoTheme, monoFont, useTheme } from '../theme';
import { movedPath } from './TreeOps';
import { loadMonaco } from './loadMonaco';

type MonacoModule = typeof Monaco;
// Loaded on first use, from the bundle (a module of its own: tests put a stand-in there).
export { loadMonaco };

const LANGUAGES: Record<string, string> = {
  rs: 'rust', ts: 'typescript', tsx: 'typescript', js: 'javascript', jsx: 'javascript', py: 'python', md: 'markdown',
  json: 'json', toml: 'ini', yaml: 'yaml', yml: 'yaml', html: 'html', css: 'css', go: 'go', java: 'java', c: 'c', h: 'c',
  cpp: 'cpp', sh: 'shell', sql: 'sql',
};

export function language(path: string): string {
  return LANGUAGES[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'plaintext';
}

interface Props {
  projectId: string;
  open: string[];
  active: string | null;
  onActivate: (path: string) => void;
  onClose: (path: string) => void;
  changed: { n: number; paths: string[] | null };
  /** Go to this line of this file (a code search result); `n` changes for each request. */
  reveal?: { path: string; line: number; n: number };
  /** A file or folder was renamed: its open files keep their text, unsaved edits included. */
  renamed?: { from: string; to: string; n: number };
}

/** `record` with its keys moved as `from` → `to` renames them. */
function moveKeys<T>(record: Record<string, T>, from: string, to: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [movedPath(k, from, to), v]));
}

export function Editor({ projectId, open, active, onActivate, onClose, changed, reveal, renamed }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<Monaco.editor.IStandaloneCodeEditor | null>(null);
  const monacoRef = useRef<MonacoModule | null>(null);
  const models = useRef(new Map<string, Monaco.editor.ITextModel>());
  const saved = useRef(new Map<string, string>());
  const [dirty, setDirty] = useState<Record<string, boolean>>({});
  /** Files changed on disk (by an agent or another program) while they had unsaved edits here. */
  const [stale, setStale] = useState<Record<string, boolean>>({});
  const [error, setError] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const live = useLiveFiles((s) => (active ? s.files[active] : undefined));

  useEffect(() => {
    let disposed = false;
    void loadMonaco().then((monaco) => {
      if (disposed || !host.current) return;
      monacoRef.current = monaco;
      editor.current = monaco.editor.create(host.current, { automaticLayout: true, theme: monacoTheme(currentTheme()), minimap: { enabled: false }, fontSize: 13, fontFamily: monoFont() });
      setReady(true);
    });
    const modelMap = models.current;
    return () => {
      disposed = true;
      editor.current?.dispose();
      for (const m of modelMap.values()) m.dispose();
      modelMap.clear();
    };
  }, []);

  // The theme changed (the OS, or the person's choice); Monaco's theme is global to the page.
  const theme = useTheme();
  useEffect(() => {
    const monaco = monacoRef.current;
    if (!ready || !monaco) return;
    defineMonacoThemes(monaco);
    monaco.editor.setTheme(monacoTheme(theme));
  }, [theme, ready]);

  /** What is on disk now. */
  const readFile = async (path: string) => (await client.call<{ content: string }>('files.read', { project_id: projectId, path })).content;
  const markStale = (path: string, isStale: boolean) => setStale((s) => ({ ...s, [path]: isStale }));

  // Opens (or re-reads) the active file.
  const load = async (path: string, force: boolean) => {
    const monaco = monacoRef.current;
    if (!monaco) return;
    let model = models.current.get(path);
    if (model && !force) return model;
    const typedBefore = model?.getValue();
    try {
      const content = await readFile(path);
      model = models.current.get(path);
      if (model && model.getValue() !== typedBefore) {
        // Typed into while the file was being read: the typing wins, and a change on disk is
        // said rather than written over it.
        if (content !== saved.current.get(path)) markStale(path, true);
        return model;
      }
      saved.current.set(path, content);
      if (!model) {
        model = monaco.editor.createModel(content, language(path));
        const created = model;
        model.onDidChangeContent(() => {
          // The model's path now: a rename in the tree moves it to another.
          const at = [...models.current].find(([, m]) => m === created)?.[0] ?? path;
          setDirty((d) => ({ ...d, [at]: created.getValue() !== saved.current.get(at) }));
        });
        models.current.set(path, model);
      } else if (model.getValue() !== content) {
        model.setValue(content);
      }
      setError(null);
      return model;
    } catch (e) {
      setError(`${path}: ${errorText(e)}`);
      return undefined;
    }
  };

  // Before the active file is loaded (effects run in order): a renamed file's model moves to
  // its new path, so the tab shows the same text (and unsaved edits) rather than a fresh read.
  useEffect(() => {
    if (!renamed) return;
    const { from, to } = renamed;
    for (const map of [models.current, saved.current] as Map<string, unknown>[]) {
      for (const [k, v] of [...map]) {
        const next = movedPath(k, from, to);
        if (next === k) continue;
        map.delete(k);
        map.set(next, v);
        if (map === models.current) monacoRef.current?.editor.setModelLanguage(v as Monaco.editor.ITextModel, language(next));
      }
    }
    setDirty((d) => moveKeys(d, from, to));
    setStale((s) => moveKeys(s, from, to));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [renamed?.n]);
  // Files whose tabs were closed elsewhere (e.g. deleted in the tree) are forgotten.
  useEffect(() => {
    for (const [path, model] of [...models.current]) {
      if (open.includes(path)) continue;
      model.dispose();
      models.current.delete(path);
      saved.current.delete(path);
      setDirty((d) => (d[path] ? { ...d, [path]: false } : d));
    }
  }, [open]);

  /** A line to go to once its file is the one shown. */
  const pendingReveal = useRef<{ path: string; line: number } | null>(null);
  const applyReveal = () => {
    const target = pendingReveal.current;
    const ed = editor.current;
    if (!target || !ed || ed.getModel() !== models.current.get(target.path) || !ed.getModel()) return;
    ed.revealLineInCenter(target.line);
    ed.setPosition({ lineNumber: target.line, column: 1 });
    ed.focus();
    pendingReveal.current = null;
  };
  useEffect(() => {
    if (!reveal) return;
    pendingReveal.current = { path: reveal.path, line: reveal.line };
    applyReveal();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reveal?.n]);

  useEffect(() => {
    if (!ready || !active) return;
    void load(active, false).then((model) => {
      if (model) editor.current?.setModel(model);
      applyReveal();
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, active, projectId]);

  // Outside edits and agents' writes: open files that changed are reloaded; one with unsaved
  // edits is kept as it is and marked stale when what is on disk is no longer what it started
  // from, so that a save cannot overwrite the other change unnoticed.
  useEffect(() => {
    for (const path of changed.paths ?? [...models.current.keys()]) {
      if (!models.current.has(path)) continue;
      if (!dirty[path]) void load(path, true);
      else void checkStale(path);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [changed.n]);

  const checkStale = async (path: string) => {
    try {
      const content = await readFile(path);
      if (content !== saved.current.get(path)) markStale(path, true);
    } catch {
      // Gone or unreadable now: saving writes it again, which is what the person asked for.
    }
  };

  /** Drops the unsaved edits of `path` for what is on disk now. */
  const reloadFromDisk = async (path: string) => {
    try {
      const content = await readFile(path);
      saved.current.set(path, content);
      models.current.get(path)?.setValue(content);
      markStale(path, false);
    } catch (e) {
      setError(`${path}: ${errorText(e)}`);
    }
  };

  /** Keeps the edits; what is on disk now becomes what they are compared with. */
  const keepMine = async (path: string) => {
    try {
      const content = await readFile(path);
      saved.current.set(path, content);
    } catch {
      // Gone: the next save creates it again.
    }
    markStale(path, false);
  };

  // A file an agent is writing: shown as it streams.
  useEffect(() => {
    if (live === undefined || !active) return;
    const model = models.current.get(active);
    if (!model || model.getValue() === live) return;
    // The agent's text is what the file will hold: not an unsaved edit of the person's.
    saved.current.set(active, live);
    model.setValue(live);
  }, [live, active]);

  // Unsaved edits: the browser asks before the page is closed or reloaded; leaving the project
  // and closing the desktop window ask through `useUnsaved`.
  const anyDirty = Object.values(dirty).some(Boolean);
  useEffect(() => {
    useUnsaved.setState({ paths: open.filter((p) => dirty[p]) });
  }, [dirty, open]);
  useEffect(() => () => useUnsaved.setState({ paths: [] }), []);
  useEffect(() => {
    if (!anyDirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [anyDirty]);

  const save = async () => {
    if (!active) return;
    const model = models.current.get(active);
    if (!model) return;
    if (stale[active] && !(await ask(`${active} changed on disk after you started editing it. Replace it with your version?`))) return;
    const content = model.getValue();
    try {
      await client.call('files.write', { project_id: projectId, path: active, content });
      saved.current.set(active, content);
      setDirty((d) => ({ ...d, [active]: false }));
      markStale(active, false);
    } catch (e) {
      setError(`${active}: ${errorText(e)}`);
    }
  };

  return (
    <section
      className="editor"
      aria-label="Editor"
      onKeyDown={(e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === 's') {
          e.preventDefault();
          void save();
        }
      }}
    >
      <div role="tablist" aria-label="Open files" className="tabs" onKeyDown={onTabKeys}>
        {open.map((p) => (
          <span key={p} className="tab">
            <button role="tab" aria-selected={p === active} onClick={() => onActivate(p)}>
              {p.split('/').pop()}
              {dirty[p] ? ' •' : ''}
            </button>
            <button
              aria-label={`Close ${p}`}
              onClick={async () => {
                if (dirty[p] && !(await ask(`Close ${p} without saving your changes?`))) return;
                setDirty((d) => ({ ...d, [p]: false }));
                markStale(p, false);
                models.current.get(p)?.dispose();
                models.current.delete(p);
                onClose(p);
              }}
            >
              <X size={12} />
            </button>
          </span>
        ))}
        {active ? (
          <button onClick={() => void save()} disabled={!dirty[active]} aria-label="Save file">
            <Save size={14} />
            Save
          </button>
        ) : null}
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {active && stale[active] ? (
        <div className="banner warning" role="alert">
          <span>
            <code>{active}</code> changed on disk after you started editing it.
          </span>
          <button onClick={() => void reloadFromDisk(active)}>Reload from disk</button>
          <button onClick={() => void keepMine(active)}>Keep my version</button>
        </div>
      ) : null}
      {!active ? <p className="muted hint">Open a file from the tree or with Ctrl+P. Ctrl+S saves.</p> : null}
      <div ref={host} className="monaco" data-path={active ?? ''} style={{ visibility: active ? 'visible' : 'hidden' }} />
    </section>
  );
}
