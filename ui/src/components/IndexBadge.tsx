import { useCallback, useEffect, useState } from 'react';
import { client, errorText, useLoad, useTopic } from '../api';
import type { Event, IndexProgress, IndexReady, IndexStatus } from '../protocol/generated';

/** The code index's state in the project header: indexing with progress, or ready and how it searches. */
export function IndexBadge({ projectId }: { projectId: string }) {
  const loaded = useLoad(() => client.call<IndexStatus>('index.status', { project_id: projectId }), [projectId]);
  const reload = loaded.reload;
  const [status, setStatus] = useState<IndexStatus | null>(null);
  const [progress, setProgress] = useState<IndexProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (loaded.data) setStatus(loaded.data);
  }, [loaded.data]);
  useTopic(
    `project/${projectId}`,
    useCallback((e: Event) => {
      if (e.type === 'index.progress') {
        setProgress(e.data as IndexProgress);
      } else if (e.type === 'index.ready') {
        setProgress(null);
        setStatus((e.data as IndexReady).status);
      } else if (e.type === 'index.updated') {
        // Files came or went: the counts are read again.
        reload();
      }
    }, [reload]),
  );
  const indexing = progress !== null || status?.state === 'indexing';
  let text = 'Index…';
  if (indexing) text = progress ? `Indexing ${progress.files_done.toLocaleString('en')}/${progress.files_total.toLocaleString('en')}` : 'Indexing…';
  else if (status?.state === 'error') text = 'Index failed';
  else if (status) text = `Index: ${status.files.toLocaleString('en')} files · ${status.mode}`;
  const title = [status?.message, status?.limit, status?.error, error, 'Click to read every file again.'].filter(Boolean).join('\n');
  return (
    <button
      className={`index-badge ${status?.state ?? ''}`}
      aria-label="Code index"
      title={title}
      onClick={() => {
        if (!window.confirm('Read every file of the project again for the code index?')) return;
        client.call('index.rebuild', { project_id: projectId }).then(
          () => setError(null),
          (e: unknown) => setError(errorText(e)),
        );
      }}
    >
      {text}
    </button>
  );
}
