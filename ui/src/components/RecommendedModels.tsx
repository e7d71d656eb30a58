import { useCallback, useEffect, useState } from 'react';
import { CheckCircle2, Download, X } from 'lucide-react';
import { client, errorText, useConnection, useTopic } from '../api';
import { chooseModel, formatBytes, isMissingMethod, loadModels, type Recommendations, type RecommendedModel } from '../models';
import type { Event, ModelPullProgress } from '../protocol/generated';
import { create } from 'zustand';

/** The models a shown recommendation list has (their downloads show there, not twice in Settings). */
export const useRecommendedNames = create<{ names: string[] }>(() => ({ names: [] }));

/** The download of one recommended model: Download, its progress bar, Cancel, Resume. */
function ModelRow({ model, progress, onPulled, onError }: { model: RecommendedModel; progress: ModelPullProgress | undefined; onPulled: (name: string) => void; onError: (text: string | null) => void }) {
  const active = progress && !['success', 'cancelled', 'error'].includes(progress.status);
  const stopped = progress && ['cancelled', 'error'].includes(progress.status);
  const pull = () =>
    client.call('models.pull', { name: model.name }).then(
      () => onError(null),
      (e: unknown) => onError(errorText(e)),
    );
  const percent = progress?.total ? Math.floor((100 * (progress.completed ?? 0)) / progress.total) : null;
  const installed = model.installed || progress?.status === 'success';
  return (
    <li className="recommended">
      <div className="recommended-head">
        <strong>{model.label}</strong> <code>{model.name}</code>
        <span className="chip">{model.params}</span>
        <span className="chip" aria-label={`${formatBytes(model.size_bytes)} on disk`}>
          {formatBytes(model.size_bytes)}
        </span>
        {!model.fits ? <span className="chip warn">may not fit this machine’s memory</span> : null}
        {model.agent_ready === false ? <span className="chip warn">chat only: too small for agents</span> : null}
      </div>
      <p className="muted">{model.reason}</p>
      {active ? (
        <div className="row pull-progress">
          <progress aria-label={`Download of ${model.name}`} max={progress?.total ?? 1} value={progress?.completed ?? 0} />
          <span className="muted">{percent !== null ? `${percent}%` : progress?.status}</span>
          <button aria-label={`Cancel download of ${model.name}`} onClick={() => void client.call('models.pull_cancel', { name: model.name }).catch(() => undefined)}>
            <X size={14} aria-hidden />
            Cancel
          </button>
        </div>
      ) : installed ? (
        <div className="row">
          <span className="ok-note">
            <CheckCircle2 size={14} aria-hidden /> Installed
          </span>
          <button aria-label={`Use ${model.name}`} onClick={() => onPulled(model.name)}>
            Use this model
          </button>
        </div>
      ) : (
        <div className="row">
          <button className="primary" aria-label={`${stopped ? 'Resume' : 'Download'} ${model.name}`} onClick={() => void pull()}>
            <Download size={14} aria-hidden />
            {stopped ? 'Resume' : 'Download'} ({formatBytes(model.size_bytes)})
          </button>
          {progress?.status === 'cancelled' ? <span className="muted">Cancelled: what was downloaded is kept.</span> : null}
          {progress?.status === 'error' ? <span className="error">{progress.error?.message ?? 'The download failed.'}</span> : null}
        </div>
      )}
    </li>
  );
}

/**
 * Models recommended for coding on this machine (`models.recommended`), each with a Download
 * button and its progress. A finished download becomes the default model and `onPulled` is told.
 */
export function RecommendedModels({ onPulled }: { onPulled?: (name: string) => void }) {
  const connected = useConnection().status === 'open';
  const [recs, setRecs] = useState<Recommendations | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pulls, setPulls] = useState<Record<string, ModelPullProgress>>({});
  const load = useCallback(
    () =>
      client.call<Recommendations>('models.recommended').then(
        (r) => {
          setRecs(r);
          setMissing(false);
          useRecommendedNames.setState({ names: r.models.map((m) => m.name) });
        },
        (e: unknown) => (isMissingMethod(e) ? setMissing(true) : setError(errorText(e))),
      ),
    [],
  );
  useEffect(() => {
    if (connected) void load();
  }, [connected, load]);
  useEffect(() => () => useRecommendedNames.setState({ names: [] }), []);
  const use = useCallback(
    (name: string) =>
      chooseModel(name).then(
        () => onPulled?.(name),
        (e: unknown) => setError(errorText(e)),
      ),
    [onPulled],
  );
  useTopic(
    'models',
    useCallback(
      (e: Event) => {
        if (e.type === 'model.pull_progress') {
          const p = e.data as unknown as ModelPullProgress;
          setPulls((ps) => ({ ...ps, [p.name]: p }));
          if (p.status === 'success') {
            void loadModels();
            void use(p.name);
          }
        } else if (e.type === 'models.changed') void load();
      },
      [load, use],
    ),
  );
  if (missing) return <p className="muted">This version of Atelier cannot recommend models yet: pull one by name below (e.g. <code>qwen2.5-coder:7b</code>).</p>;
  return (
    <div className="recommendations">
      {recs ? (
        <p className="muted">
          For coding, chosen for this machine ({formatBytes(recs.memory_bytes)} of memory, {formatBytes(recs.free_memory_bytes)} free
          {recs.vram_bytes ? `, ${formatBytes(recs.vram_bytes)} of graphics memory` : ''}), best first:
        </p>
      ) : error ? null : (
        <p className="muted">Finding models that suit this machine…</p>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <ul className="recommended-list" aria-label="Recommended models">
        {(recs?.models ?? []).map((m) => (
          <ModelRow key={m.name} model={m} progress={pulls[m.name]} onPulled={(name) => void use(name)} onError={setError} />
        ))}
      </ul>
    </div>
  );
}

