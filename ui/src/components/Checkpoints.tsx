import { useState } from 'react';
import { client, errorText, useLoad } from '../api';
import type { Checkpoint, CheckpointRestored } from '../protocol/generated';

export function Checkpoints({ projectId }: { projectId: string }) {
  const list = useLoad(() => client.call<Checkpoint[]>('checkpoints.list', { project_id: projectId }), [projectId]);
  const [undo, setUndo] = useState<Checkpoint | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const restore = async (id: string, label: string) => {
    try {
      const r = await client.call<CheckpointRestored>('checkpoints.restore', { project_id: projectId, id });
      setUndo(r.undo);
      setNote(`Restored “${label}”.`);
      list.reload();
    } catch (e) {
      setNote(errorText(e));
    }
  };
  return (
    <section aria-label="Checkpoints">
      {note ? <p role="status">{note}</p> : null}
      {undo ? <button onClick={() => void restore(undo.id, undo.label).then(() => setUndo(null))}>Undo restore</button> : null}
      <ul>
        {(list.data ?? []).map((c) => (
          <li key={c.id}>
            {c.label} <span className="muted">{new Date(c.time).toLocaleString()} · {c.paths.length} files</span>{' '}
            <button aria-label={`Restore ${c.label}`} onClick={() => void restore(c.id, c.label)}>
              Restore
            </button>
          </li>
        ))}
      </ul>
      {list.data && list.data.length === 0 ? <p className="muted">Checkpoints are taken before and after every workflow.</p> : null}
    </section>
  );
}
