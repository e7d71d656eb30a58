/**
 * Settings → Storage: when projects nobody opens are archived and when Atelier's records of
 * long-archived ones are cleaned up (after the person confirms the list), the database's
 * backups (daily, how many kept, "Back up now", Restore after a confirmation).
 */
import { useState } from 'react';
import { client, errorText, useLoad } from '../api';
import type { Backup, CleanupCandidate } from '../review-types';
import { ConfirmDialog } from './Bits';

const size = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`);

/** A whole number setting, saved when the box is left or Enter is pressed. */
function DaysBox({ label, value, fallback, onSave, title }: { label: string; value: string | null | undefined; fallback: string; onSave: (v: string) => void; title?: string }) {
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft === null) return;
    const n = Number(draft);
    if (draft.trim() !== '' && Number.isInteger(n) && n >= 0) onSave(String(n));
    setDraft(null);
  };
  return (
    <label title={title}>
      {label}{' '}
      <input
        type="number"
        min={0}
        aria-label={label}
        value={draft ?? value ?? fallback}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </label>
  );
}

export function Storage({ settings, save }: { settings: Record<string, unknown> | undefined; save: (key: string, value: string) => void }) {
  const backups = useLoad(() => client.call<Backup[]>('backups.list'), []);
  const [note, setNote] = useState<{ text: string; error: boolean; reload?: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const [restoring, setRestoring] = useState<Backup | null>(null);
  const [cleanup, setCleanup] = useState<CleanupCandidate[] | null>(null);
  const get = (key: string) => (settings?.[key] as string | null | undefined) ?? null;

  const run = async (what: () => Promise<{ text: string; reload?: boolean }>) => {
    setBusy(true);
    try {
      setNote({ ...(await what()), error: false });
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    } finally {
      setBusy(false);
      backups.reload();
    }
  };
  const backUp = () =>
    run(async () => {
      const b = await client.call<Backup>('backups.create');
      return { text: `Backed up (${size(b.bytes)}) to ${b.path}.` };
    });
  const restore = (b: Backup) => {
    setRestoring(null);
    void run(async () => {
      const { kept } = await client.call<{ kept: Backup }>('backups.restore', { id: b.id });
      return { text: `Restored the backup of ${new Date(b.time).toLocaleString()}. The database as it was is kept as the backup ${kept.id}.`, reload: true };
    });
  };
  const previewCleanup = () =>
    run(async () => {
      const list = await client.call<CleanupCandidate[]>('projects.cleanup_preview');
      if (list.length === 0) return { text: 'Nothing to clean up: no project has been archived that long.' };
      setCleanup(list);
      return { text: `${list.length} archived project${list.length === 1 ? '' : 's'} can be cleaned up.` };
    });
  const doCleanup = (list: CleanupCandidate[]) => {
    setCleanup(null);
    void run(async () => {
      const { removed } = await client.call<{ removed: string[] }>('projects.cleanup', { ids: list.map((c) => c.project_id) });
      return { text: `Removed Atelier's records of ${removed.length} project${removed.length === 1 ? '' : 's'}; their files are untouched.` };
    });
  };

  return (
    <section aria-labelledby="storage-heading">
      <h2 id="storage-heading">Storage</h2>
      <div className="row">
        <DaysBox
          label="Archive projects not opened for (days)"
          title="Archived projects are hidden from the list (Show archived shows them); 0 never archives"
          value={get('archive_after_days')}
          fallback="30"
          onSave={(v) => save('archive_after_days', v)}
        />
        <DaysBox
          label="Clean up projects archived for (days)"
          title="Removes Atelier's own records (chats, workflows, events) after you confirm the list, never the project's files; 0 is off"
          value={get('cleanup_after_days')}
          fallback="0"
          onSave={(v) => save('cleanup_after_days', v)}
        />
        <button disabled={busy} onClick={() => void previewCleanup()}>
          Clean up now…
        </button>
      </div>
      <p className="muted">Cleaning up removes Atelier's records of a project (chats, workflows, events), never its files. 0 days: never.</p>
      <h3>Backups</h3>
      <div className="row">
        <label>
          <input type="checkbox" aria-label="Back up the database daily" checked={get('backups.daily') !== 'false'} onChange={(e) => save('backups.daily', e.target.checked ? 'true' : 'false')} /> Back
          up the database daily
        </label>
        <DaysBox label="Backups to keep" value={get('backups.keep')} fallback="7" onSave={(v) => save('backups.keep', v)} />
        <button disabled={busy} onClick={() => void backUp()}>
          Back up now
        </button>
      </div>
      {note ? (
        <p role={note.error ? 'alert' : 'status'} className={note.error ? 'error' : 'muted'}>
          {note.text} {note.reload ? <button onClick={() => window.location.reload()}>Reload Atelier</button> : null}
        </p>
      ) : null}
      {backups.error ? <p className="error">{backups.error}</p> : null}
      <table aria-label="Backups">
        <thead>
          <tr>
            <th>time</th>
            <th>size</th>
            <th>file</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(backups.data ?? []).map((b) => (
            <tr key={b.id}>
              <td>{new Date(b.time).toLocaleString()}</td>
              <td>{size(b.bytes)}</td>
              <td>
                <code>{b.path}</code>
              </td>
              <td>
                <button disabled={busy} aria-label={`Restore the backup ${b.id}`} onClick={() => setRestoring(b)}>
                  Restore
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {backups.data && backups.data.length === 0 ? <p className="muted">No backups yet.</p> : null}
      {restoring ? (
        <ConfirmDialog label="Restore this backup" confirm="Restore" danger onConfirm={() => restore(restoring)} onCancel={() => setRestoring(null)}>
          <p>
            Replace Atelier's database with the backup of {new Date(restoring.time).toLocaleString()}? Chats, workflows and settings go back to how they were then. The database as it is now is
            kept as a backup first.
          </p>
        </ConfirmDialog>
      ) : null}
      {cleanup ? (
        <ConfirmDialog label="Clean up archived projects" confirm={`Remove the records of ${cleanup.length} project${cleanup.length === 1 ? '' : 's'}`} danger onConfirm={() => doCleanup(cleanup)} onCancel={() => setCleanup(null)}>
          <p>These projects' chats, workflows and events are removed from Atelier. Their folders and files stay.</p>
          <ul aria-label="Projects to clean up">
            {cleanup.map((c) => (
              <li key={c.project_id}>
                <strong>{c.name}</strong> <span className="muted">{c.path}</span> — archived {new Date(c.archived_at).toLocaleDateString()}; {c.sessions} chats, {c.messages} messages, {c.workflows}{' '}
                workflows
              </li>
            ))}
          </ul>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
