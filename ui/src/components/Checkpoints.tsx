import { useState } from 'react';
import { RotateCcw, Undo2 } from 'lucide-react';
import { client, errorText, useLoad } from '../api';
import type { Checkpoint, CheckpointRestored } from '../protocol/generated';

/** `changed`: bumped when the project's files or repository change (a workflow takes checkpoints as it writes and commits). */
export function Checkpoints({ projectId, changed = 0 }: { projectId: string; changed?: number }) {
  const list = useLoad(() => client.call<Checkpoint[]>('checkpoints.list', { project_id: projectId }), [projectId, changed]);
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
      {undo ? <button onClick={() => void restore(undo.id, undo.label).then(() => setUndo(null))}><Undo2 size={14} /> Undo restore</button> : null}
      <ul>
        {(list.data ?? []).map((c) => (
          <li key={c.id}>
            {c.label} <span className="muted">{new Date(c.time).toLocaleString()} · {c.paths.length} files</span>{' '}
            <button aria-label={`Restore ${c.label}`} onClick={() => void restore(c.id, c.label)}>
              <RotateCcw size={14} />
              Restore
            </button>
          </li>
        ))}
      </ul>
      {list.data && list.data.length === 0 ? <p className="muted">Checkpoints are taken before and after every workflow.</p> : null}
    </section>
  );
}
