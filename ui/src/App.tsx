import { Suspense, lazy, useCallback, useEffect, useRef, useState } from 'react';
import { Archive, ArchiveRestore, Download, FolderInput, FolderOpen, FolderPlus, RefreshCw, Settings as SettingsIcon, ShieldAlert, Trash2 } from 'lucide-react';
import { client, desktop, errorText, token, useConnection, useLoad, useTopic } from './api';
import type { Event, ImportProgress, Project, ProjectExported } from './protocol/generated';
// The first screen (the project list) loads without the workspace's and settings' code
// (markdown, highlighting, terminals): less to parse before the app is interactive.
const Workspace = lazy(() => import('./components/Workspace').then((m) => ({ default: m.Workspace })));
const Settings = lazy(() => import('./components/Settings').then((m) => ({ default: m.Settings })));
const FirstRun = lazy(() => import('./components/FirstRun').then((m) => ({ default: m.FirstRun })));
import { StatusBar } from './components/StatusBar';
import { CommandPalette } from './components/CommandPalette';
import { allCommands, useCommands } from './commands';
import { loadModels, useModels } from './models';
import { chooseTheme, currentTheme, THEME_CHOICES } from './theme';
import { chooseFolder, chooseZip, loadServer, onMenu, onOpenFolder, setServer, setWindowTitle, takeLaunchFolder, useServer } from './desktop';
import { mayDiscardUnsaved, tellShellBeforeClose } from './unsaved';
import { loadSandbox, setSandbox, useSandbox } from './sandbox';
import type { ArchivableProject } from './review-types';
import { useFirstFrameDrawn } from './startup';
// The archived mark of the project list (the rest of these styles load with their views).
import './components/review.css';

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
  if (state.tokenRefused) {
    // Retrying cannot help: the tab holds a token the server does not accept.
    return (
      <div className="banner error" role="alert">
        <span>
          The access token was refused: open the link <code>atelier serve</code> printed
        </span>
        <button onClick={() => client.retryNow()}>
          <RefreshCw size={14} />
          Retry now
        </button>
      </div>
    );
  }
  const seconds = Math.max(0, Math.ceil(((state.retryAt ?? Date.now()) - Date.now()) / 1000));
  return (
    <div className="banner error" role="alert">
      Connection lost — retrying in {seconds} s (attempt {state.attempt})
      {state.lastError ? <span className="muted"> ({state.lastError})</span> : null}
      <button onClick={() => client.retryNow()}>
        <RefreshCw size={14} />
        Retry now
      </button>
    </div>
  );
}

export function ProjectList({ onOpen }: { onOpen: (p: Project) => void }) {
  /** Archived projects are hidden unless asked for. */
  const [showArchived, setShowArchived] = useState(false);
  const projects = useLoad(() => client.call<ArchivableProject[]>('projects.list', showArchived ? { include_archived: true } : undefined), [showArchived]);
  // Projects archived by age (the daily check) leave the list.
  const reloadProjects = projects.reload;
  useTopic(
    'projects',
    useCallback((e: Event) => e.type === 'projects.changed' && reloadProjects(), [reloadProjects]),
  );
  /** Opening an archived project brings it back (its folder is watched again). */
  const open = async (p: ArchivableProject) => {
    if (!p.archived_at) return onOpen(p);
    try {
      onOpen(await client.call<Project>('projects.unarchive', { id: p.id }));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const archive = async (p: Project, archived: boolean) => {
    try {
      await client.call(archived ? 'projects.archive' : 'projects.unarchive', { id: p.id });
      projects.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
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
  const [importing, setImporting] = useState(false);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const importFolder = () => {
    setImporting(true);
    setProgress(null);
    return openWith(() => client.call<Project>('projects.import', { path: importPath.trim(), copy }), () => setImportPath('')).finally(() => setImporting(false));
  };
  // A copying import reports its progress on `system` (only listened to meanwhile).
  useTopic(
    importing && copy ? 'system' : null,
    useCallback((e: Event) => {
      if (e.type === 'project.import_progress') setProgress(e.data as unknown as ImportProgress);
    }, []),
  );
  const browse = async () => {
    try {
      const folder = await chooseFolder();
      if (folder) setImportPath(folder);
    } catch (e) {
      setError(errorText(e));
    }
  };
  /** The outcome of the last export (desktop: written where the Save dialog said). */
  const [exported, setExported] = useState<string | null>(null);
  const exportTo = async (p: Project) => {
    try {
      const path = await chooseZip(`${p.name}.zip`);
      if (!path) return;
      setExported(null);
      const done = await client.call<ProjectExported>('projects.export', { id: p.id, path });
      setExported(`Exported to ${done.path} (${Math.max(1, Math.round(done.bytes / 1024)).toLocaleString()} KB)`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  /** The project whose removal is being confirmed (inline: no blocking dialogs in the desktop webview). */
  const [removing, setRemoving] = useState<string | null>(null);
  const remove = async (p: Project, deleteFiles: boolean) => {
    setRemoving(null);
    try {
      await client.call('projects.delete', deleteFiles ? { id: p.id, delete_files: true } : { id: p.id });
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
        <button onClick={() => setCreating(true)}>
          <FolderPlus size={14} />
          New project
        </button>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void importFolder();
        }}
      >
        <input aria-label="Folder to import" value={importPath} onChange={(e) => setImportPath(e.target.value)} placeholder="/home/me/code/app" />
        {desktop ? (
          <button type="button" aria-label="Choose a folder to import" onClick={() => void browse()}>
            <FolderOpen size={14} />
            Browse…
          </button>
        ) : null}
        <label>
          <input type="checkbox" checked={copy} onChange={(e) => setCopy(e.target.checked)} /> copy into Atelier's folder
        </label>
        <button type="submit" disabled={busy || !importPath.trim()}>
          <FolderInput size={14} />
          Import folder
        </button>
      </form>
      {importing && progress ? (
        <div className="row">
          Copying {progress.files_done} of {progress.files_total} files
          <progress aria-label="Import progress" max={Math.max(1, progress.bytes_total)} value={progress.bytes_done} />
        </div>
      ) : null}
      {exported ? (
        <p role="status">
          {exported} <button onClick={() => setExported(null)}>Dismiss</button>
        </p>
      ) : null}
      {projects.error ? <p className="error">{projects.error}</p> : null}
      <label>
        <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived
      </label>
      <ul className="project-list" aria-label="Projects">
        {(projects.data ?? []).map((p) => (
          <li key={p.id} className={p.archived_at ? 'archived' : undefined}>
            <button className="link" onClick={() => void open(p)} aria-label={`Open ${p.name}`}>
              {p.name}
            </button>
            {p.archived_at ? (
              <span className="archived-mark" title={`Archived ${new Date(p.archived_at).toLocaleDateString()}`}>
                archived
              </span>
            ) : null}
            <span className="muted">{p.path}</span>
            <button onClick={() => void archive(p, !p.archived_at)} aria-label={`${p.archived_at ? 'Unarchive' : 'Archive'} ${p.name}`} title={p.archived_at ? 'Show it in the list again' : 'Hide it from the list (Show archived shows it)'}>
              {p.archived_at ? <ArchiveRestore size={14} /> : <Archive size={14} />}
              {p.archived_at ? 'Unarchive' : 'Archive'}
            </button>
            {desktop ? (
              <button onClick={() => void exportTo(p)} aria-label={`Export ${p.name}`}>
                <Download size={14} />
                Export
              </button>
            ) : (
              <a href={`/download/${p.id}?token=${encodeURIComponent(token ?? '')}`} download aria-label={`Export ${p.name}`}>
                <Download size={14} /> Export
              </a>
            )}
            {removing === p.id ? (
              <span className="confirm" role="group" aria-label={`Confirm removing ${p.name}`}>
                Remove “{p.name}”?
                <button onClick={() => void remove(p, false)}>Remove, keep the folder</button>
                <button className="danger" onClick={() => void remove(p, true)}>
                  Remove and delete {p.path}
                </button>
                <button onClick={() => setRemoving(null)}>Keep</button>
              </span>
            ) : (
              <button onClick={() => setRemoving(p.id)} aria-label={`Remove ${p.name}`}>
                <Trash2 size={14} />
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {projects.data && projects.data.length === 0 ? <p className="muted empty-state">No projects yet. Create one with New project, or import a folder of code you already have.</p> : null}
    </main>
  );
}

/**
 * Desktop: while the embedded server listens on every interface, a bar that stays at the top of
 * every view says so, with a way to stop at once (the server keeps running on loopback).
 */
export function SharingBar() {
  const status = useServer((s) => s.status);
  const busy = useServer((s) => s.busy);
  const drawn = useFirstFrameDrawn();
  useEffect(() => {
    if (drawn) void loadServer();
  }, [drawn]);
  if (!status?.running || !status.public) return null;
  const [first, ...others] = status.reachable_at;
  return (
    <div className="banner warning" role="alert">
      <ShieldAlert size={16} aria-hidden />
      <span>
        Atelier is reachable from other machines{' '}
        {first ? (
          <>
            at <code>{first}</code>
            {others.length ? ` (and ${others.length} more address${others.length > 1 ? 'es' : ''})` : ''}
          </>
        ) : (
          <>on port {status.port} of every network interface</>
        )}
        : anyone on the network with the access token can use it, terminals included.
      </span>
      <button disabled={busy} onClick={() => void setServer({ enabled: true, port: status.port, public: false })}>
        Stop sharing
      </button>
    </div>
  );
}

/**
 * While the person has turned the sandbox off, a bar at the top of every view says that agents'
 * commands run with their full rights, with a way to turn it back on at once.
 */
export function SandboxOffBar() {
  const status = useSandbox((s) => s.status);
  const busy = useSandbox((s) => s.busy);
  // Loaded once connected (again after a reconnection: another window may have changed it).
  const connected = useConnection().status === 'open';
  const drawn = useFirstFrameDrawn();
  useEffect(() => {
    if (connected && drawn) void loadSandbox();
  }, [connected, drawn]);
  if (status?.setting !== 'off') return null;
  return (
    <div className="banner warning" role="alert" aria-label="Sandbox off">
      <ShieldAlert size={16} aria-hidden />
      <span>The sandbox is off: commands that agents run have your full rights (your home folder, the network, files outside the project).</span>
      <button disabled={busy} onClick={() => void setSandbox('sandbox', null)}>
        Turn it back on
      </button>
    </div>
  );
}

const OPEN_PROJECT = 'atelier.project';

export function App() {
  // What the first screen does not need waits for its first frame (see startup.ts).
  const drawn = useFirstFrameDrawn();
  const [project, setProjectState] = useState<Project | null>(() => null);
  const [settings, setSettings] = useState(false);
  // The open project survives a reload of the tab (kept in sessionStorage, checked with the server).
  const setProject = useCallback((p: Project | null) => {
    setProjectState(p);
    // `projects.get` counts as opening it: a project in use is not archived by age.
    if (p) client.call('projects.get', { id: p.id }).catch(() => undefined);
    if (p) window.sessionStorage.setItem(OPEN_PROJECT, p.id);
    else window.sessionStorage.removeItem(OPEN_PROJECT);
  }, []);
  const remembered = useLoad(() => {
    const id = window.sessionStorage.getItem(OPEN_PROJECT);
    return id ? client.call<Project>('projects.get', { id }).catch(() => null) : Promise.resolve(null);
  }, []);
  const restored = useRef(false);
  useEffect(() => {
    if (restored.current || remembered.data === undefined) return;
    restored.current = true;
    const again = remembered.data;
    if (again) setProjectState((current) => current ?? again);
    else window.sessionStorage.removeItem(OPEN_PROJECT);
  }, [remembered.data]);
  useEffect(() => {
    performance.mark('atelier:interactive');
  }, []);
  // Desktop: closing the window with unsaved edits asks first (the shell asks; see unsaved.ts).
  useEffect(() => (desktop && drawn ? tellShellBeforeClose() : undefined), [drawn]);
  // Desktop: a folder named on the command line, now or by a later launch, opens as a project.
  const [openFailure, setOpenFailure] = useState<string | null>(null);
  const openFolder = useCallback(
    async (path: string) => {
      if (!(await mayDiscardUnsaved(`Open ${path}`))) return;
      try {
        const opened = await client.call<Project>('projects.import', { path });
        setSettings(false);
        setProject(opened);
        setOpenFailure(null);
      } catch (e) {
        setOpenFailure(`Cannot open ${path}: ${errorText(e)}`);
      }
    },
    [setProject],
  );
  useEffect(() => {
    if (!desktop || !drawn) return;
    takeLaunchFolder().then((path) => path && void openFolder(path), () => undefined);
    return onOpenFolder((path) => void openFolder(path));
  }, [openFolder, drawn]);
  const onDeleted = useCallback(() => setProject(null), [setProject]);
  // The tab's (and the desktop window's) title names the open project.
  useEffect(() => {
    const title = project ? `${project.name} — Atelier` : 'Atelier';
    document.title = title;
    // The window opens titled "Atelier" (tauri.conf.json).
    if (desktop && (project || drawn)) setWindowTitle(title).catch(() => undefined);
  }, [project, drawn]);
  // Desktop: the native menu's items run the palette's commands of the same id.
  useEffect(() => (desktop && drawn ? onMenu((id) => allCommands().find((c) => c.id === id)?.run()) : undefined), [drawn]);
  // First run: no model server, or one without models, gets the first-run screen (checked once a
  // page, when the connection first opens: a server that goes away later is the chat's to say).
  const [gate, setGate] = useState<'checking' | 'first-run' | 'open'>('checking');
  const connected = useConnection().status === 'open';
  useEffect(() => {
    if (!connected || gate !== 'checking' || !drawn) return;
    void loadModels().then((ok) => {
      const { models } = useModels.getState();
      setGate(ok && (models?.length ?? 0) > 0 ? 'open' : 'first-run');
    });
  }, [connected, gate, drawn]);
  const goHome = useCallback(async () => {
    if (project && !(await mayDiscardUnsaved(`Leave ${project.name}`))) return;
    setSettings(false);
    setProject(null);
  }, [project, setProject]);
  const saveSetting = (key: string, value: string | null) => client.call('settings.set', { key, value });
  useCommands([
    { id: 'settings.open', group: 'Atelier', title: 'Open settings', keywords: 'preferences', run: () => setSettings(true) },
    { id: 'projects.all', group: 'Atelier', title: 'All projects', keywords: 'home open project', run: () => void goHome() },
    {
      id: 'project.open',
      group: 'Atelier',
      title: 'Open folder',
      keywords: 'import project',
      run: () => {
        // The desktop app asks for the folder; a browser types its path on the projects page.
        if (desktop) void chooseFolder().then((path) => path && void openFolder(path), (e: unknown) => setOpenFailure(errorText(e)));
        else
          void goHome().then(() => requestAnimationFrame(() => document.querySelector<HTMLElement>('input[aria-label="Folder to import"]')?.focus()));
      },
    },
    { id: 'theme.toggle', group: 'Theme', title: 'Switch between light and dark', keywords: 'colour color appearance', run: () => chooseTheme(currentTheme() === 'dark' ? 'light' : 'dark', saveSetting) },
    ...THEME_CHOICES.map((c) => ({
      id: `theme.${c}`,
      group: 'Theme',
      title: c === 'system' ? 'Follow the system theme' : `Switch to the ${c} theme`,
      keywords: 'colour color appearance dark light',
      run: () => chooseTheme(c, saveSetting),
    })),
  ]);
  useTopic(project ? `project/${project.id}` : null, useCallback((e) => e.type === 'project.deleted' && onDeleted(), [onDeleted]));
  return (
    <div className="app">
      {desktop ? <SharingBar /> : null}
      <SandboxOffBar />
      <header className="topbar">
        <button
          className="link brand"
          aria-label="All projects"
          onClick={() => void goHome()}
        >
          Atelier
        </button>
        {project ? <span className="crumb">{project.name}</span> : null}
        <span className="spacer" />
        <button onClick={() => setSettings((s) => !s)} aria-pressed={settings}>
          <SettingsIcon size={14} />
          Settings
        </button>
      </header>
      <ConnectionBanner />
      {openFailure ? (
        <div className="banner error" role="alert">
          <span>{openFailure}</span>
          <button onClick={() => setOpenFailure(null)}>Dismiss</button>
        </div>
      ) : null}
      {/* The workspace stays mounted (hidden) while Settings is open: open files, unsaved edits,
          terminals and panels are as they were on the way back. Another project gets its own. */}
      {gate === 'first-run' && !settings ? (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <FirstRun onReady={() => setGate('open')} />
        </Suspense>
      ) : null}
      {project && gate !== 'first-run' ? (
        <div className="workspace-host" hidden={settings}>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <Workspace key={project.id} project={project} />
          </Suspense>
        </div>
      ) : null}
      {settings ? (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Settings />
        </Suspense>
      ) : project || gate === 'first-run' ? null : (
        <ProjectList onOpen={setProject} />
      )}
      {drawn ? (
        <StatusBar project={gate === 'first-run' ? null : project} onOpenSettings={() => setSettings(true)} />
      ) : (
        <footer className="statusbar" aria-label="Status bar" />
      )}
      <CommandPalette />
    </div>
  );
}
