import { useState } from 'react';
import { client, errorText, useLoad } from '../api';
import type { GitBranch, GitLogEntry, GitStatus } from '../protocol/generated';

export function GitPanel({ projectId, changed }: { projectId: string; changed: number }) {
  const status = useLoad(() => client.call<GitStatus>('git.status', { project_id: projectId }), [projectId, changed]);
  const branches = useLoad(() => client.call<GitBranch[]>('git.branches', { project_id: projectId }), [projectId, changed]);
  const log = useLoad(() => client.call<GitLogEntry[]>('git.log', { project_id: projectId, limit: 20 }), [projectId, changed]);
  const [message, setMessage] = useState('');
  const [diff, setDiff] = useState<{ path: string; text: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    try {
      await what();
      if (done) setNote(done);
    } catch (e) {
      setNote(errorText(e));
    } finally {
      setBusy(false);
      status.reload();
      log.reload();
      branches.reload();
    }
  };
  const showDiff = async (path: string, staged: boolean) => {
    try {
      const { diff: text } = await client.call<{ diff: string }>('git.diff', { project_id: projectId, path, staged });
      setDiff({ path, text });
    } catch (e) {
      setNote(errorText(e));
    }
  };
  const entries = status.data?.entries ?? [];
  const staged = entries.filter((e) => e.index !== '.' && e.index !== '?');
  const unstaged = entries.filter((e) => e.worktree !== '.');

  return (
    <section className="git" aria-label="Git">
      <p>
        Branch <strong>{status.data?.branch ?? '…'}</strong>{' '}
        <select
          aria-label="Switch branch"
          value={status.data?.branch ?? ''}
          onChange={(e) => void run(() => client.call('git.checkout', { project_id: projectId, branch: e.target.value }))}
        >
          {(branches.data ?? []).map((b) => (
            <option key={b.name}>{b.name}</option>
          ))}
        </select>
        <button
          onClick={() => {
            const name = window.prompt('New branch name');
            if (name) void run(() => client.call('git.checkout', { project_id: projectId, branch: name, create: true }));
          }}
        >
          New branch
        </button>
        <button disabled={busy} onClick={() => void run(() => client.call('git.pull', { project_id: projectId }), 'Pulled.')}>
          Pull
        </button>
        <button disabled={busy} onClick={() => void run(() => client.call('git.push', { project_id: projectId }), 'Pushed.')}>
          Push
        </button>
      </p>
      {note ? (
        <p className="note" role="status">
          {note}
        </p>
      ) : null}
      {status.error ? <p className="error">{status.error}</p> : null}
      <h4>Staged</h4>
      <ul aria-label="Staged changes">
        {staged.map((e) => (
          <li key={`s-${e.path}`}>
            <code>{e.index}</code>{' '}
            <button className="link" onClick={() => void showDiff(e.path, true)}>
              {e.path}
            </button>{' '}
            <button aria-label={`Unstage ${e.path}`} onClick={() => void run(() => client.call('git.unstage', { project_id: projectId, paths: [e.path] }))}>
              Unstage
            </button>
          </li>
        ))}
      </ul>
      <h4>Changes</h4>
      <ul aria-label="Changes">
        {unstaged.map((e) => (
          <li key={`u-${e.path}`}>
            <code>{e.worktree}</code>{' '}
            <button className="link" onClick={() => void showDiff(e.path, false)}>
              {e.path}
            </button>{' '}
            <button aria-label={`Stage ${e.path}`} onClick={() => void run(() => client.call('git.stage', { project_id: projectId, paths: [e.path] }))}>
              Stage
            </button>
          </li>
        ))}
      </ul>
      {unstaged.length > 0 ? (
        <button onClick={() => void run(() => client.call('git.stage', { project_id: projectId, paths: unstaged.map((e) => e.path) }))}>Stage all</button>
      ) : null}
      <div className="row">
        <input aria-label="Commit message" value={message} onChange={(e) => setMessage(e.target.value)} placeholder="Describe the change" />
        <button
          disabled={busy || !message.trim() || staged.length === 0}
          onClick={() =>
            void run(async () => {
              const { commit } = await client.call<{ commit: string }>('git.commit', { project_id: projectId, message });
              setMessage('');
              setNote(`Committed ${commit.slice(0, 8)}.`);
            })
          }
        >
          Commit
        </button>
      </div>
      {diff ? (
        <div className="diff" aria-label={`Diff of ${diff.path}`}>
          <button onClick={() => setDiff(null)}>Close diff</button>
          <pre>
            {diff.text.split('\n').map((line, i) => (
              <div key={i} className={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : ''}>
                {line}
              </div>
            ))}
          </pre>
        </div>
      ) : null}
      <h4>History</h4>
      <ul aria-label="History">
        {(log.data ?? []).map((c) => (
          <li key={c.commit}>
            <code>{c.commit.slice(0, 8)}</code> {c.summary} <span className="muted">{c.author}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
