/**
 * Settings → Agent tools: whether agents' commands run without asking, the context cap for
 * local models, and the tools each project allows without asking (each revocable).
 */
import { useState } from 'react';
import { client, errorText, useLoad } from '../api';
import type { Project } from '../protocol/generated';

export const DEFAULT_MAX_CONTEXT = 32768;

export function AgentTools({
  autoApproveRun,
  maxContext,
  onSet,
}: {
  /** The setting `tools.auto_approve_run` (`'true'` when on). */
  autoApproveRun: string | null | undefined;
  /** The setting `max_context`, in tokens; unset means 32768. */
  maxContext: string | null | undefined;
  /** `settings.set` (a `null` value clears the setting). */
  onSet: (key: string, value: string | null) => Promise<unknown>;
}) {
  const projects = useLoad(() => client.call<Project[]>('projects.list'), []);
  const allowed = useLoad(async () => {
    const lists = await Promise.all((projects.data ?? []).map((p) => client.call<string[]>('tools.allowed', { project_id: p.id }).then((tools) => ({ project: p, tools }))));
    return lists.filter((l) => l.tools.length > 0);
  }, [projects.data]);
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const revoke = (project: Project, tool: string) =>
    client.call('tools.revoke', { project_id: project.id, tool }).then(
      () => {
        setError(null);
        allowed.reload();
      },
      (e: unknown) => setError(errorText(e)),
    );
  const applyMaxContext = () => {
    if (draft === null) return;
    const value = draft.trim();
    setDraft(null);
    if (value && !/^\d+$/.test(value)) {
      setError(`The context cap is a whole number of tokens, e.g. ${DEFAULT_MAX_CONTEXT}.`);
      return;
    }
    setError(null);
    void onSet('max_context', value || null);
  };
  const on = autoApproveRun === 'true';
  return (
    <section aria-labelledby="agent-tools-heading">
      <h2 id="agent-tools-heading">Agent tools</h2>
      <p className="muted">Chats with Tools on, and workflows' agents, read, search and edit the project's files and run commands. Commands ask first unless allowed here or with "Always allow".</p>
      <div className="row">
        <label>
          <input type="checkbox" role="switch" aria-label="Run commands without asking" checked={on} onChange={(e) => void onSet('tools.auto_approve_run', e.target.checked ? 'true' : null)} />
          Run commands without asking (the sandbox still applies)
        </label>
      </div>
      <div className="row">
        <label>
          Context cap (tokens){' '}
          <input
            type="number"
            aria-label="Context cap in tokens"
            min={2048}
            step={1024}
            placeholder={String(DEFAULT_MAX_CONTEXT)}
            value={draft ?? maxContext ?? ''}
            onChange={(e) => setDraft(e.target.value)}
            onBlur={applyMaxContext}
            onKeyDown={(e) => e.key === 'Enter' && applyMaxContext()}
          />
        </label>{' '}
        <span className="muted">the most context asked of a local model (memory grows with it); longer chats are summarised to fit</span>
      </div>
      <h3>Always allowed</h3>
      {allowed.error ? <p className="muted">The allowed tools cannot be listed: {allowed.error}</p> : null}
      {allowed.data && allowed.data.length === 0 ? <p className="muted">No project lets a tool run without asking.</p> : null}
      <ul aria-label="Tools always allowed">
        {(allowed.data ?? []).flatMap(({ project, tools }) =>
          tools.map((tool) => (
            <li key={`${project.id}/${tool}`}>
              <code>{tool}</code> in {project.name}{' '}
              <button aria-label={`Revoke ${tool} in ${project.name}`} onClick={() => void revoke(project, tool)}>
                Revoke
              </button>
            </li>
          )),
        )}
      </ul>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
