import { useCallback, useEffect, useState } from 'react';
import { client, errorText, token, useConnection, useLoad, useTopic } from './api';
import type { Project } from './protocol/generated';
import { Workspace } from './components/Workspace';
import { Settings } from './components/Settings';

export function ConnectionBanner() {
  const state = useConnection();
  const [, setNow] = useState(0);
  useEffect(() => {
    if (state.status !== 'reconnecting') return;
    const id = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(id);
  }, [state.status]);
  if (state.status === 'open') return null;
  if (state.status === 'connecting') return <div className="banner" role="status">Connecting to Atelier…</div>;
  const seconds = Math.max(0, Math.ceil(((state.retryAt ?? Date.now()) - Date.now()) / 1000));
  return (
    <div className="banner error" role="alert">
      Connection lost — retrying in {seconds} s (attempt {state.attempt})
      {state.lastError ? <span className="muted"> ({state.lastError})</span> : null}
      <button onClick={() => client.retryNow()}>Retry now</button>
    </div>
  );
}

function ProjectList({ onOpen }: { onOpen: (p: Project) => void }) {
  const projects = useLoad(() => client.call<Project[]>('projects.list'), []);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [importPath, setImportPath] = useState('');
  const [copy, setCopy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  /** Runs a call that yields a project, then opens it; errors are shown above the list. */
  const openWith = async (call: () => Promise<Project>, reset: () => void) => {
    setBusy(true);
    try {
      const p = await call();
      reset();
      projects.reload();
      onOpen(p);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const create = () =>
    openWith(
      () => client.call<Project>('projects.create', { name: name.trim() }),
      () => {
        setName('');
        setCreating(false);
      },
    );
  const importFolder = () => openWith(() => client.call<Project>('projects.import', { path: importPath.trim(), copy }), () => setImportPath(''));
  const remove = async (p: Project) => {
    if (!window.confirm(`Remove the project “${p.name}” from Atelier? Its folder stays on disk.`)) return;
    try {
      await client.call('projects.delete', { id: p.id });
      projects.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <main className="projects">
      <h1>Projects</h1>
      {error ? (
        <p className="error" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </p>
      ) : null}
      {creating ? (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <input aria-label="Project name" autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="my-app" />
          <button type="submit" disabled={busy || !name.trim()}>
            Create
          </button>
          <button type="button" onClick={() => setCreating(false)}>
            Close
          </button>
        </form>
      ) : (
        <button onClick={() => setCreating(true)}>New project</button>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void importFolder();
        }}
      >
        <input aria-label="Folder to import" value={importPath} onChange={(e) => setImportPath(e.target.value)} placeholder="/home/me/code/app" />
        <label>
          <input type="checkbox" checked={copy} onChange={(e) => setCopy(e.target.checked)} /> copy into Atelier's folder
        </label>
        <button type="submit" disabled={busy || !importPath.trim()}>
          Import folder
        </button>
      </form>
      {projects.error ? <p className="error">{projects.error}</p> : null}
      <ul className="project-list" aria-label="Projects">
        {(projects.data ?? []).map((p) => (
          <li key={p.id}>
            <button className="link" onClick={() => onOpen(p)} aria-label={`Open ${p.name}`}>
              {p.name}
            </button>
            <span className="muted">{p.path}</span>
            <a href={`/download/${p.id}?token=${encodeURIComponent(token ?? '')}`} download aria-label={`Export ${p.name}`}>
              Export
            </a>
            <button onClick={() => void remove(p)} aria-label={`Remove ${p.name}`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      {projects.data && projects.data.length === 0 ? <p className="muted">No projects yet: create one or import a folder.</p> : null}
    </main>
  );
}

export function App() {
  const [project, setProject] = useState<Project | null>(() => null);
  const [settings, setSettings] = useState(false);
  const onDeleted = useCallback(() => setProject(null), []);
  useTopic(project ? `project/${project.id}` : null, useCallback((e) => e.type === 'project.deleted' && onDeleted(), [onDeleted]));
  return (
    <div className="app">
      <header className="topbar">
        <button className="link brand" onClick={() => setProject(null)} aria-label="All projects">
          Atelier
        </button>
        {project ? <span className="crumb">{project.name}</span> : null}
        <span className="spacer" />
        <button onClick={() => setSettings((s) => !s)} aria-pressed={settings}>
          Settings
        </button>
      </header>
      <ConnectionBanner />
      {settings ? <Settings /> : project ? <Workspace project={project} /> : <ProjectList onOpen={setProject} />}
    </div>
  );
}
