/**
 * A commit of the Git panel's history: its message, author, time and files with their +/−
 * counts and status (`git.commit_details`); a file's click shows what the commit changed in it
 * (the diff view: `git.show` at `<commit>^` and `<commit>`).
 */
import { useState } from 'react';
import { client, useLoad } from '../api';
import type { CommitDetails as Details } from '../review-types';
import { DiffView } from './DiffView';

const STATUS: Record<string, string> = { added: 'A', modified: 'M', deleted: 'D', renamed: 'R' };

export function CommitDetails({ projectId, commit, onClose }: { projectId: string; commit: string; onClose: () => void }) {
  const details = useLoad(() => client.call<Details>('git.commit_details', { project_id: projectId, commit }), [projectId, commit]);
  const [file, setFile] = useState<string | null>(null);
  const d = details.data;
  return (
    <section className="commit-details" aria-label={`Commit ${commit.slice(0, 8)}`}>
      <div className="row">
        <strong>{d?.summary ?? commit.slice(0, 8)}</strong>
        <span className="spacer" />
        <button onClick={onClose} aria-label="Close commit">
          Close
        </button>
      </div>
      {details.error ? (
        <p className="error" role="alert">
          {details.error}
        </p>
      ) : null}
      {d ? (
        <>
          <p className="muted">
            <code>{d.commit.slice(0, 12)}</code> · {d.author} · {new Date(d.time).toLocaleString()}
            {d.parents.length > 1 ? ` · merges ${d.parents.map((p) => p.slice(0, 8)).join(' and ')}` : ''}
          </p>
          {d.message.trim() !== d.summary.trim() ? <pre className="commit-message">{d.message}</pre> : null}
          <ul aria-label="Files in the commit">
            {d.files.map((f) => (
              <li key={f.path}>
                <code title={f.status}>{STATUS[f.status] ?? f.status}</code>{' '}
                <button className="link" aria-label={`Show ${f.path} in ${d.commit.slice(0, 8)}`} aria-pressed={file === f.path} onClick={() => setFile(file === f.path ? null : f.path)}>
                  {f.path}
                </button>{' '}
                {f.old_path ? <span className="muted">(from {f.old_path}) </span> : null}
                {f.binary ? (
                  <span className="muted">binary</span>
                ) : (
                  <>
                    <span className="plus">+{f.additions}</span> <span className="minus">−{f.deletions}</span>
                  </>
                )}
              </li>
            ))}
          </ul>
          {d.files.length === 0 ? <p className="muted">No files changed.</p> : null}
          {file ? (
            <DiffView
              key={file}
              projectId={projectId}
              commit={d.commit}
              path={file}
              oldPath={d.files.find((f) => f.path === file)?.old_path}
              onClose={() => setFile(null)}
              firstCommit={d.parents.length === 0}
            />
          ) : null}
        </>
      ) : null}
    </section>
  );
}
