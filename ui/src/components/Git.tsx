import { useState } from 'react';
import { ArrowDownToLine, ArrowUpFromLine, GitCommitHorizontal } from 'lucide-react';
import { client, errorText, useLoad } from '../api';
import type { CheckpointRestored, GitBranch, GitLogEntry, GitStatus } from '../protocol/generated';
import { ask } from '../desktop';
import { CommitDetails } from './CommitDetails';

export function GitPanel({ projectId, changed }: { projectId: string; changed: number }) {
  // Status, branches and history in one batch: one round trip (and one message) per refresh.
  const repo = useLoad(async () => {
    const [status, branches, log] = await client.batch([
      { method: 'git.status', params: { project_id: projectId } },
      { method: 'git.branches', params: { project_id: projectId } },
      { method: 'git.log', params: { project_id: projectId, limit: 20 } },
    ]);
    if (status.status === 'rejected') throw status.reason;
    return {
      status: status.value as GitStatus,
      branches: branches.status === 'fulfilled' ? (branches.value as GitBranch[]) : [],
      // A repository without a commit yet has no history to show.
      log: log.status === 'fulfilled' ? (log.value as GitLogEntry[]) : [],
    };
  }, [projectId, changed]);
  const status = { data: repo.data?.status, error: repo.error };
  const branches = { data: repo.data?.branches };
  const log = { data: repo.data?.log };
  const [message, setMessage] = useState('');
  const [diff, setDiff] = useState<{ path: string; text: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** The name typed for a new branch (inline: no blocking prompt in the desktop webview). */
  const [newBranch, setNewBranch] = useState<string | null>(null);
  /** The commit of the history whose details are shown. */
  const [commit, setCommit] = useState<string | null>(null);

  const run = async (what: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    try {
      await what();
      if (done) setNote(done);
    } catch (e) {
      setNote(errorText(e));
    } finally {
      setBusy(false);
      repo.reload();
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
  /** Throws away the changes to `path` after asking; a checkpoint keeps them for an undo. */
  const discard = async (path: string) => {
    if (!(await ask(`Discard your changes to ${path}? It goes back to the last commit (a file added since is removed). Checkpoints keeps what you discard, to bring it back.`, 'Discard changes'))) return;
    await run(async () => {
      const { undo } = await client.call<CheckpointRestored>('git.discard', { project_id: projectId, paths: [path] });
      setNote(`Discarded the changes to ${path}; Checkpoints → “${undo.label}” brings them back.`);
    });
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
        {newBranch === null ? (
          <button onClick={() => setNewBranch('')}>New branch</button>
        ) : (
          <span className="confirm">
            <input aria-label="New branch name" autoFocus value={newBranch} onChange={(e) => setNewBranch(e.target.value)} placeholder="feature/x" />
            <button
              disabled={!newBranch.trim()}
              onClick={() => {
                const branch = newBranch.trim();
                setNewBranch(null);
                void run(() => client.call('git.checkout', { project_id: projectId, branch, create: true }), `On the new branch ${branch}.`);
              }}
            >
              Create branch
            </button>
            <button onClick={() => setNewBranch(null)}>Cancel</button>
          </span>
        )}
        <button disabled={busy} onClick={() => void run(() => client.call('git.pull', { project_id: projectId }), 'Pulled.')}>
          <ArrowDownToLine size={14} />
          Pull
        </button>
        <button disabled={busy} onClick={() => void run(() => client.call('git.push', { project_id: projectId }), 'Pushed.')}>
          <ArrowUpFromLine size={14} />
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
            </button>{' '}
            <button aria-label={`Discard changes to ${e.path}`} disabled={busy} onClick={() => void discard(e.path)}>
              Discard
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
          <GitCommitHorizontal size={14} />
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
            <button className="link" aria-expanded={commit === c.commit} aria-label={`Commit ${c.commit.slice(0, 8)} ${c.summary}`} onClick={() => setCommit(commit === c.commit ? null : c.commit)}>
              <code>{c.commit.slice(0, 8)}</code> {c.summary}
            </button>{' '}
            <span className="muted">{c.author}</span>
            {commit === c.commit ? <CommitDetails projectId={projectId} commit={c.commit} onClose={() => setCommit(null)} /> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
