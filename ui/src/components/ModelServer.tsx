import { useState, type ReactNode } from 'react';
import { client, errorText, useLoad } from '../api';
import { setModelServer } from '../models';

const CLOUDS = [
  ['openai', 'OpenAI'],
  ['anthropic', 'Anthropic'],
  ['gemini', 'Gemini'],
  ['deepseek', 'DeepSeek'],
] as const;

type Kind = 'ollama' | 'openai' | 'cloud';

/** What a `model_server` value names, for the form (`openai+URL`, a cloud's name, else an Ollama URL). */
function parse(value: string | null | undefined): { kind: Kind; url: string; cloud: string } {
  if (!value) return { kind: 'ollama', url: '', cloud: 'openai' };
  if (value.startsWith('openai+')) return { kind: 'openai', url: value.slice('openai+'.length), cloud: 'openai' };
  if (CLOUDS.some(([id]) => id === value)) return { kind: 'cloud', url: '', cloud: value };
  return { kind: 'ollama', url: value, cloud: 'openai' };
}

/**
 * Points Atelier at another model server while it runs (the setting `model_server`): Ollama on
 * another machine, an OpenAI-compatible server, or a cloud provider (its key: `keys`, the API
 * keys form). `onChanged` says whether a model server answers afterwards.
 */
export function ModelServerChooser({ keys, onChanged }: { keys?: ReactNode; onChanged?: (answered: boolean) => void }) {
  const settings = useLoad(() => client.call<Record<string, unknown>>('settings.get'), []);
  const current = typeof settings.data?.model_server === 'string' ? settings.data.model_server : null;
  const [form, setForm] = useState<{ kind: Kind; url: string; cloud: string } | null>(null);
  const shown = form ?? parse(current);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const value = shown.kind === 'cloud' ? shown.cloud : shown.kind === 'openai' ? `openai+${shown.url.trim()}` : shown.url.trim();
  const apply = async (v: string | null) => {
    setBusy(true);
    try {
      const answered = await setModelServer(v);
      settings.reload();
      setForm(null);
      setNote({ text: v ? (answered ? `Atelier now uses ${v}.` : `Atelier now uses ${v}, but it does not answer yet.`) : 'Atelier uses the server it was started with again.', error: !answered });
      onChanged?.(answered);
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    } finally {
      setBusy(false);
    }
  };
  const edit = (patch: Partial<{ kind: Kind; url: string; cloud: string }>) => setForm({ ...shown, ...patch });
  return (
    <div className="model-server">
      <div className="segmented" role="radiogroup" aria-label="Kind of server">
        {(
          [
            ['ollama', 'Ollama on another machine'],
            ['openai', 'OpenAI-compatible server'],
            ['cloud', 'A cloud provider'],
          ] as const
        ).map(([k, label]) => (
          <label key={k} className={shown.kind === k ? 'on' : ''}>
            <input type="radio" name="server-kind" value={k} checked={shown.kind === k} onChange={() => edit({ kind: k })} />
            {label}
          </label>
        ))}
      </div>
      {shown.kind === 'cloud' ? (
        <>
          <label className="block">
            Provider
            <select aria-label="Cloud provider" value={shown.cloud} onChange={(e) => edit({ cloud: e.target.value })}>
              {CLOUDS.map(([id, label]) => (
                <option key={id} value={id}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          {keys}
        </>
      ) : (
        <label className="block">
          {shown.kind === 'ollama' ? 'Its address' : 'Its URL (LM Studio, vLLM, llama.cpp’s server)'}
          <input
            aria-label={shown.kind === 'ollama' ? 'Ollama address' : 'OpenAI-compatible URL'}
            value={shown.url}
            placeholder={shown.kind === 'ollama' ? 'http://gpu-box:11434' : 'http://127.0.0.1:8000/v1'}
            onChange={(e) => edit({ url: e.target.value })}
            onKeyDown={(e) => e.key === 'Enter' && shown.url.trim() && void apply(value)}
          />
        </label>
      )}
      <div className="row">
        <button className="primary" disabled={busy || (shown.kind !== 'cloud' && !shown.url.trim())} onClick={() => void apply(value)}>
          Use this server
        </button>
        {current ? (
          <button disabled={busy} onClick={() => void apply(null)}>
            Back to the server Atelier started with
          </button>
        ) : null}
        {current ? (
          <span className="muted">
            In use: <code>{current}</code>
          </span>
        ) : null}
      </div>
      {note ? (
        <p role={note.error ? 'alert' : 'status'} className={note.error ? 'error' : 'muted'}>
          {note.text}
        </p>
      ) : null}
    </div>
  );
}
