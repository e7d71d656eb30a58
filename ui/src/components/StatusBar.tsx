import { useCallback, useEffect, useRef, useState } from 'react';
import { AlertTriangle, Bot, Radio, Shield, ShieldOff, Workflow as WorkflowIcon } from 'lucide-react';
import { client, desktop, errorText, useConnection, useTopic } from '../api';
import { allCommands, useCommands } from '../commands';
import { useServer } from '../desktop';
import { badges, chooseModel, loadModels, modelInUse, probeModel, probeOf, useModels } from '../models';
import type { Event, Health, Project, Workflow } from '../protocol/generated';
import { loadSandbox, useSandbox } from '../sandbox';
import { IndexBadge } from './IndexBadge';

/** Workflow states that are over (the rest count as running). */
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * The bar at the bottom of the app: the model in use (click: the model picker), the model
 * server's health, the project's code index, the sandbox in force, the embedded server (desktop)
 * and the project's running workflows. `onOpenSettings` opens Settings (the sandbox's item).
 */
export function StatusBar({ project, onOpenSettings }: { project: Project | null; onOpenSettings: () => void }) {
  const onShowWorkflows = () => allCommands().find((c) => c.id === 'panel.workflows')?.run();
  return (
    <footer className="statusbar" aria-label="Status bar">
      <ModelItem />
      <HealthItem />
      {project ? <IndexBadge key={`index-${project.id}`} projectId={project.id} /> : null}
      <span className="spacer" />
      {project ? <WorkflowsItem key={`workflows-${project.id}`} projectId={project.id} onShow={onShowWorkflows} /> : null}
      <SandboxItem onOpenSettings={onOpenSettings} />
      {desktop ? <ServerItem onOpenSettings={onOpenSettings} /> : null}
    </footer>
  );
}

function ModelItem() {
  const connected = useConnection().status === 'open';
  const state = useModels();
  const [picking, setPicking] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  /** Closes the picker; the focus goes back to the model's button (keyboard users stay put). */
  const close = useCallback(() => {
    setPicking(false);
    button.current?.focus();
  }, []);
  useEffect(() => {
    if (connected) void loadModels();
  }, [connected]);
  // The list changes when a model is pulled or deleted.
  useTopic(
    'models',
    useCallback((e: Event) => {
      if (e.type === 'models.changed') void loadModels();
    }, []),
  );
  const name = modelInUse(state);
  // What is known about the model in use (asked once; the engine remembers).
  useEffect(() => {
    if (name && !probeOf(useModels.getState(), name)) void probeModel(name);
  }, [name]);
  useCommands([{ id: 'model.choose', group: 'Model', title: 'Choose the model', run: () => setPicking(true) }]);
  const probe = name ? probeOf(state, name) : null;
  const text = name ?? (state.failure ? 'no model server' : state.models ? 'no models' : '…');
  return (
    <span className="status-item-wrap">
      <button
        ref={button}
        className={`status-item${state.failure ? ' bad' : ''}`}
        aria-label={`Model: ${text}. Choose the model`}
        aria-haspopup="dialog"
        aria-expanded={picking}
        title={state.failure ?? 'The model chats and workflows use (click to change)'}
        onClick={() => setPicking((p) => !p)}
      >
        <Bot size={13} aria-hidden />
        <span>{text}</span>
        {probe?.warning ? <AlertTriangle size={13} className="warn-icon" aria-hidden /> : null}
      </button>
      {picking ? <ModelPicker onClose={close} /> : null}
    </span>
  );
}

/** The model picker: every model the server lists, with what is known about it (badges, a warning). */
export function ModelPicker({ onClose }: { onClose: () => void }) {
  const state = useModels();
  const current = modelInUse(state);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState(() => Math.max(0, state.models?.findIndex((m) => m.name === current) ?? 0));
  const list = useRef<HTMLUListElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    list.current?.focus();
    // A click elsewhere closes it.
    const away = (e: MouseEvent) => {
      if (box.current && e.target instanceof Node && !box.current.contains(e.target) && !(e.target instanceof Element && e.target.closest('.status-item-wrap'))) onClose();
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [onClose]);
  const models = state.models ?? [];
  const pick = async (name: string | undefined) => {
    if (!name) return;
    setBusy(true);
    try {
      await chooseModel(name);
      setError(null);
      onClose();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const probe = current ? probeOf(state, current) : null;
  return (
    <div
      ref={box}
      className="popover model-picker"
      role="dialog"
      aria-label="Choose the model"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onClose();
        }
      }}
    >
      {state.failure ? <p className="error">{state.failure}</p> : null}
      {state.models && models.length === 0 ? <p className="muted">The model server has no models yet: download one in Settings → Models.</p> : null}
      <ul
        role="listbox"
        aria-label="Models"
        tabIndex={0}
        ref={list}
        aria-activedescendant={models[selected] ? `model-option-${selected}` : undefined}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') setSelected((i) => Math.min(i + 1, models.length - 1));
          else if (e.key === 'ArrowUp') setSelected((i) => Math.max(i - 1, 0));
          else if (e.key === 'Enter') void pick(models[selected]?.name);
          else return;
          e.preventDefault();
        }}
      >
        {models.map((m, i) => {
          const known = { ...m, probe: probeOf(state, m.name) };
          return (
            <li
              key={m.name}
              id={`model-option-${i}`}
              role="option"
              aria-selected={i === selected}
              aria-disabled={busy}
              className={`${i === selected ? 'selected' : ''}${m.name === current ? ' current' : ''}`}
              onMouseDown={(e) => e.preventDefault()}
              onMouseMove={() => setSelected(i)}
              onClick={() => void pick(m.name)}
            >
              <span className="model-name">{m.name}</span>
              {m.name === current ? <span className="chip in-use">in use</span> : null}
              {badges(known).map((b) => (
                <span key={b} className="chip">
                  {b}
                </span>
              ))}
            </li>
          );
        })}
      </ul>
      {probe?.warning ? (
        <p className="warning-note" role="note">
          <AlertTriangle size={13} aria-hidden /> {probe.warning}
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The model server's health: the `model_endpoint` checks of `system.health`, asked again every
 * 20 s (not the `system` topic: its metrics stream every 2 s is more than a status bar needs).
 */
function HealthItem() {
  const connected = useConnection().status === 'open';
  const [health, setHealth] = useState<Health | null>(null);
  useEffect(() => {
    if (!connected) return;
    const ask = () => client.call<Health>('system.health').then(setHealth, () => setHealth(null));
    void ask();
    const id = setInterval(() => void ask(), 20_000);
    return () => clearInterval(id);
  }, [connected]);
  // `models.list` failing says more than `degraded`: nothing answers.
  const unreachable = useModels((s) => !!s.failure);
  if (!health) return null;
  const endpoints = health.checks.filter((c) => c.name.startsWith('model_endpoint'));
  const worst = endpoints.find((c) => c.status === 'down') ?? endpoints.find((c) => c.status !== 'ok') ?? endpoints[0];
  const status = unreachable ? 'down' : (worst?.status ?? health.status);
  const words = status === 'ok' ? 'ready' : status === 'degraded' ? 'needs attention' : 'unreachable';
  const detail = endpoints.map((c) => `${c.status}: ${c.detail ?? c.name}`).join('\n');
  return (
    <span className="status-item" role="status" aria-label={`Model server ${words}`} title={detail || undefined}>
      <span className={`dot ${status === 'ok' ? 'healthy' : status === 'degraded' ? 'degraded' : 'failing'}`} aria-hidden />
      Model server {words}
    </span>
  );
}

function SandboxItem({ onOpenSettings }: { onOpenSettings: () => void }) {
  const status = useSandbox((s) => s.status);
  const connected = useConnection().status === 'open';
  useEffect(() => {
    // The sandbox bar at the top loads it too; once is enough.
    if (connected && !useSandbox.getState().status) void loadSandbox();
  }, [connected]);
  if (!status) return null;
  const off = status.setting === 'off' || !status.mode;
  const where = status.mode === 'container' && status.engine ? `container (${status.engine})` : (status.mode ?? 'none');
  return (
    <button className={`status-item${off ? ' bad' : ''}`} aria-label={`Sandbox: ${status.setting === 'off' ? 'off' : where}`} title={`${status.summary}\n(Click for the sandbox's options.)`} onClick={onOpenSettings}>
      {off ? <ShieldOff size={13} aria-hidden /> : <Shield size={13} aria-hidden />}
      Sandbox: {status.setting === 'off' ? 'off' : where}
    </button>
  );
}

function ServerItem({ onOpenSettings }: { onOpenSettings: () => void }) {
  const status = useServer((s) => s.status);
  if (!status?.running) return null;
  return (
    <button className={`status-item${status.public ? ' bad' : ''}`} aria-label={`Embedded server on port ${status.port}${status.public ? ', reachable from other machines' : ''}`} title={status.address ?? undefined} onClick={onOpenSettings}>
      <Radio size={13} aria-hidden />
      Serving :{status.port}
      {status.public ? ' (network)' : ''}
    </button>
  );
}

/** The project's workflows that are not over, followed through their topics and the project's changes. */
function WorkflowsItem({ projectId, onShow }: { projectId: string; onShow?: () => void }) {
  const connected = useConnection().status === 'open';
  const [running, setRunning] = useState<Workflow[]>([]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!connected) return;
    let live = true;
    client.call<Workflow[]>('workflows.list', { project_id: projectId }).then(
      (all) => live && setRunning(all.filter((w) => !FINISHED.has(w.state))),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [projectId, connected, tick]);
  // A workflow writes files and commits: the project's events say when to look again; a slow
  // poll catches one started from elsewhere that has not written yet.
  useTopic(
    `project/${projectId}`,
    useCallback((e: Event) => {
      if (e.type === 'files.changed' || e.type === 'git.changed') setTick((t) => t + 1);
    }, []),
  );
  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(id);
  }, []);
  const ids = running.map((w) => w.id).join(',');
  useEffect(() => {
    if (!ids) return;
    const stops = ids.split(',').map((id) =>
      client.subscribe(`workflow/${id}`, (e: Event) => {
        if (e.type === 'workflow.state' || e.type === 'workflow.completed' || e.type === 'workflow.failed' || e.type === 'workflow.cancelled') setTick((t) => t + 1);
      }),
    );
    return () => stops.forEach((s) => s());
  }, [ids]);
  if (running.length === 0) return null;
  const label = running.length === 1 ? `1 workflow ${running[0].state}` : `${running.length} workflows running`;
  return (
    <button className="status-item busy" aria-label={`${label}. Show workflows`} title={running.map((w) => `${w.state}: ${w.request}`).join('\n')} onClick={onShow}>
      <WorkflowIcon size={13} aria-hidden />
      {label}
    </button>
  );
}
