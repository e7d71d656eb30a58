import { useCallback, useEffect, useState } from 'react';
import { client, desktop, errorText, token, useLoad, useTopic } from '../api';
import type { ApiKeyStatus, Event, Health, Model, ModelPullProgress } from '../protocol/generated';
import { ask, loadServer, serverEnabled, setServer, useServer } from '../desktop';
import { loadSandbox, OFF_WARNING, setSandbox, useSandbox } from '../sandbox';
import { McpServers } from './McpServers';
import { AgentTools } from './AgentTools';
import { Storage } from './Storage';
import { RecommendedModels, useRecommendedNames } from './RecommendedModels';
import { ModelServerChooser } from './ModelServer';
import { chooseTheme, THEME_CHOICES, useThemeChoice, type ThemeChoice } from '../theme';

export const PUBLIC_TITLE = 'Reachable from other machines';
export const PUBLIC_WARNING =
  'Make Atelier reachable from other machines? Anyone on your network who has the access token can then use Atelier, including its terminals (a shell on this computer).';

/** Desktop: the embedded server that serves this UI to browsers (kept for the next start). */
function EmbeddedServer() {
  const { status, failure, busy } = useServer();
  /** The port being typed (applied on Enter or when leaving the box). */
  const [draft, setDraft] = useState<string | null>(null);
  useEffect(() => {
    void loadServer();
  }, []);
  if (!status) return failure ? <p className="error" role="alert">{failure}</p> : null;
  const enabled = serverEnabled(status);
  const apply = (patch: Partial<{ enabled: boolean; port: number; public: boolean }>) =>
    void setServer({ enabled, port: status.port, public: status.public, ...patch });
  const applyPort = () => {
    if (draft === null || useServer.getState().busy) return;
    const n = Number(draft);
    setDraft(null);
    if (Number.isInteger(n) && n >= 1 && n <= 65535 && n !== status.port) apply({ port: n });
  };
  const setPublic = async (on: boolean) => {
    // Binding every interface exposes the terminals to the network: asked every time.
    if (on && !(await ask(PUBLIC_WARNING, PUBLIC_TITLE))) return;
    apply({ public: on });
  };
  const setEnabled = async (on: boolean) => {
    // Starting the server with "reachable" saved from an earlier time asks again; declined, it
    // starts on loopback only.
    if (on && status.public) apply({ enabled: true, public: await ask(PUBLIC_WARNING, PUBLIC_TITLE) });
    else apply({ enabled: on });
  };
  return (
    <section className="server-settings" aria-labelledby="server-heading">
      <h2 id="server-heading">Embedded server</h2>
      <div className="row">
        <label>
          <input type="checkbox" aria-label="Embedded server" aria-describedby="server-serve" checked={enabled} disabled={busy} onChange={(e) => void setEnabled(e.target.checked)} />
          <span id="server-serve">Serve the UI to browsers</span>
        </label>
        <label>
          Port{' '}
          <input
            type="number"
            aria-label="Port"
            min={1}
            max={65535}
            value={draft ?? String(status.port)}
            disabled={busy}
            onChange={(e) => setDraft(e.target.value)}
            onBlur={applyPort}
            onKeyDown={(e) => e.key === 'Enter' && applyPort()}
          />
        </label>
        <label>
          <input type="checkbox" aria-label="Reachable from other machines" checked={status.public} disabled={busy} onChange={(e) => void setPublic(e.target.checked)} />
          Reachable from other machines
        </label>
      </div>
      {status.running ? (
        <>
          <p>
            Address <code>{status.address}</code>
          </p>
          {status.public ? (
            <p aria-label="Addresses for other machines">
              From other machines:{' '}
              {status.reachable_at.length
                ? status.reachable_at.map((a, i) => (
                    <span key={a}>
                      {i ? ', ' : ''}
                      <code>{a}</code>
                    </span>
                  ))
                : `this computer's name or network address, port ${status.port}`}
            </p>
          ) : null}
          <p>
            Access token <code aria-label="Access token">{status.token}</code>{' '}
            <button disabled={!status.link} onClick={() => status.link && void navigator.clipboard?.writeText(status.link)}>
              Copy link
            </button>
          </p>
        </>
      ) : (
        <p className="muted">{enabled ? 'Not running.' : 'Off: only this window uses Atelier.'}</p>
      )}
      {failure || status.error ? (
        <p className="error" role="alert">
          {failure ?? status.error}
        </p>
      ) : null}
    </section>
  );
}

const SANDBOX_CHOICES = [
  ['auto', 'the strongest available (recommended)'],
  ['bubblewrap', 'bubblewrap (Linux)'],
  ['container', 'a container (Podman or Docker)'],
  ['off', 'off: commands have your full rights'],
] as const;

/** Where agents' commands run: the mode in force, the network switch, the allowed folders. */
function Sandbox() {
  const { status, failure, busy } = useSandbox();
  /** The allowed folders being edited (saved with the button). */
  const [folders, setFolders] = useState<string | null>(null);
  const [memory, setMemory] = useState<string | null>(null);
  useEffect(() => {
    void loadSandbox();
  }, []);
  if (!status) return failure ? <p className="muted">The sandbox's state cannot be shown: {failure}</p> : null;
  const choose = async (value: string) => {
    // Off is asked every time: it gives agents' commands the person's full rights.
    if (value === 'off' && !(await ask(OFF_WARNING, 'Turn the sandbox off'))) return;
    void setSandbox('sandbox', value === 'auto' ? null : value);
  };
  const where = status.mode === 'container' && status.engine ? `container (${status.engine})` : status.mode;
  return (
    <section aria-labelledby="sandbox-heading">
      <h2 id="sandbox-heading">Sandbox</h2>
      <p className="muted">Commands that agents run (a workflow's check, agents' tools) run in a sandbox; your own terminals do not.</p>
      <div className="row">
        <label>
          Sandbox{' '}
          <select aria-label="Sandbox" value={status.setting} disabled={busy} onChange={(e) => void choose(e.target.value)}>
            {SANDBOX_CHOICES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p aria-label="Sandbox in force">
        In force: <strong>{where ?? 'none — commands cannot run'}</strong> <span className="muted">— {status.summary}</span>
      </p>
      {status.error ? (
        <p className="error" role="alert">
          {status.error}
        </p>
      ) : null}
      {status.advice ? <p className="muted">{status.advice}</p> : null}
      <div className="row">
        <label>
          <input type="checkbox" aria-label="Network for agents' commands" checked={status.network} disabled={busy} onChange={(e) => void setSandbox('sandbox.network', e.target.checked ? 'true' : null)} />
          Let agents' commands use the network (downloads, package installs)
        </label>
      </div>
      <label className="block">
        Folders agents' commands may read (never write), one per line
        <textarea aria-label="Allowed folders" rows={4} value={folders ?? status.allow_read.join('\n')} disabled={busy} onChange={(e) => setFolders(e.target.value)} />
      </label>
      <div className="row">
        <button
          disabled={busy || folders === null}
          onClick={() => {
            void setSandbox('sandbox.allow_read', folders?.trim() ? folders : null).then(() => setFolders(null));
          }}
        >
          Save folders
        </button>
        <button disabled={busy} onClick={() => void setSandbox('sandbox.allow_read', null).then(() => setFolders(null))}>
          Back to the defaults
        </button>
      </div>
      <div className="row">
        <label>
          Memory limit (MiB){' '}
          <input
            type="number"
            aria-label="Memory limit"
            min={16}
            placeholder="none"
            value={memory ?? (status.memory_mb ? String(status.memory_mb) : '')}
            disabled={busy}
            onChange={(e) => setMemory(e.target.value)}
            onBlur={() => {
              if (memory !== null) void setSandbox('sandbox.memory_mb', memory.trim() || null).then(() => setMemory(null));
            }}
          />
        </label>
        <span className="muted">{status.memory}</span>
      </div>
      {failure ? (
        <p className="error" role="alert">
          {failure}
        </p>
      ) : null}
    </section>
  );
}

const gb = (b?: number | null) => (b ? `${(b / 1e9).toFixed(1)} GB` : '');

/** What `settings.get` answers: each setting a string or null, and the API keys' status. */
type SettingsData = { [key: string]: string | null | undefined } & { api_keys?: Record<string, ApiKeyStatus> };

const PROVIDERS = [
  ['openai', 'OpenAI', 'OPENAI_API_KEY'],
  ['anthropic', 'Anthropic', 'ANTHROPIC_API_KEY'],
  ['gemini', 'Gemini', 'GEMINI_API_KEY'],
  ['deepseek', 'DeepSeek', 'DEEPSEEK_API_KEY'],
] as const;

/** Cloud providers' keys, kept in the OS keychain (never shown again, never in the database). */
export function ApiKeys({ keys, onChanged }: { keys: Record<string, ApiKeyStatus> | undefined; onChanged: () => void }) {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const store = async (provider: string, label: string) => {
    try {
      await client.call('settings.set_key', { provider, key: (drafts[provider] ?? '').trim() });
      setDrafts((d) => ({ ...d, [provider]: '' }));
      setNote({ text: `The ${label} key is stored in the keychain; Atelier uses it from its next start.`, error: false });
      onChanged();
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    }
  };
  const remove = async (provider: string, label: string) => {
    if (!(await ask(`Remove the ${label} key from the keychain?`))) return;
    try {
      await client.call('settings.delete_key', { provider });
      setNote({ text: `The ${label} key is removed from the keychain.`, error: false });
      onChanged();
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    }
  };
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <p className="muted">
        For cloud providers (chosen with <code>ATELIER_PROVIDER</code>). A key is kept in the OS keychain, never shown again; its environment variable, when set, wins.
      </p>
      {PROVIDERS.map(([id, label, variable]) => {
        const status = keys?.[id];
        const state = status?.env_set ? `from ${variable}` : status?.key_stored ? 'stored in the keychain' : 'none';
        return (
          <div className="row" key={id}>
            <span className="key-name">{label}</span>
            <span className="muted" aria-label={`${label} key`}>
              {state}
            </span>
            <input
              type="password"
              autoComplete="off"
              aria-label={`New ${label} key`}
              placeholder={status?.key_stored ? 'replace the stored key' : 'paste a key'}
              value={drafts[id] ?? ''}
              onChange={(e) => setDrafts((d) => ({ ...d, [id]: e.target.value }))}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (drafts[id] ?? '').trim()) void store(id, label);
              }}
            />
            <button aria-label={`Store the ${label} key`} disabled={!(drafts[id] ?? '').trim()} onClick={() => void store(id, label)}>
              Store
            </button>
            {status?.key_stored ? (
              <button aria-label={`Remove the ${label} key`} onClick={() => void remove(id, label)}>
                Remove
              </button>
            ) : null}
          </div>
        );
      })}
      {note ? (
        <p role={note.error ? 'alert' : 'status'} className={note.error ? 'error' : 'muted'}>
          {note.text}
        </p>
      ) : null}
    </section>
  );
}

/** The cloud keys on their own (the first-run screen): loads the keys' status itself. */
export function CloudKeys() {
  const settings = useLoad(() => client.call<SettingsData>('settings.get'), []);
  return <ApiKeys keys={settings.data?.api_keys} onChanged={settings.reload} />;
}

const THEME_LABELS: Record<ThemeChoice, string> = { system: 'System', light: 'Light', dark: 'Dark' };

/** The colour theme: System (follows the OS), Light or Dark (setting `ui.theme`). */
function Appearance() {
  const choice = useThemeChoice((s) => s.choice);
  const save = (key: string, value: string | null) => client.call('settings.set', { key, value });
  return (
    <section aria-labelledby="appearance-heading">
      <h2 id="appearance-heading">Appearance</h2>
      <div className="segmented" role="radiogroup" aria-label="Theme">
        {THEME_CHOICES.map((c) => (
          <label key={c} className={choice === c ? 'on' : ''}>
            <input type="radio" name="theme" value={c} checked={choice === c} onChange={() => chooseTheme(c, save)} />
            {THEME_LABELS[c]}
          </label>
        ))}
      </div>
      <p className="muted">System follows your operating system’s light or dark mode.</p>
    </section>
  );
}

export function Settings() {
  const models = useLoad(() => client.call<Model[]>('models.list'), []);
  const health = useLoad(() => client.call<Health>('system.health'), []);
  const settings = useLoad(() => client.call<SettingsData>('settings.get'), []);
  const save = (key: string, value: string) =>
    client.call('settings.set', { key, value: value || null }).then(settings.reload, (e: unknown) => setNote(errorText(e)));
  const [pulls, setPulls] = useState<Record<string, ModelPullProgress>>({});
  const recommended = useRecommendedNames((s) => s.names);
  const [name, setName] = useState('');
  const [note, setNote] = useState<string | null>(null);
  useTopic(
    'models',
    useCallback(
      (e: Event) => {
        if (e.type === 'model.pull_progress') {
          const p = e.data as unknown as ModelPullProgress;
          setPulls((ps) => ({ ...ps, [p.name]: p }));
          if (p.status === 'error') setNote(p.error?.message ?? 'The download failed.');
        }
        if (e.type === 'models.changed') models.reload();
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [],
    ),
  );
  const pull = () =>
    client.call('models.pull', { name: name.trim() }).then(
      () => setNote(null),
      (e: unknown) => setNote(errorText(e)),
    );
  return (
    <main className="settings" aria-label="Settings">
      <Appearance />
      <h2>Health</h2>
      {health.data ? (
        <ul>
          <li>
            Overall: <strong>{health.data.status}</strong>
          </li>
          {health.data.checks.map((c) => (
            <li key={c.name}>
              {c.name}: {c.status} {c.detail ? <span className="muted">— {c.detail}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      <h2>Model server</h2>
      <p className="muted">Where chats, workflows and the index get their models. Atelier starts with Ollama at http://127.0.0.1:11434 (or <code>OLLAMA_HOST</code>); point it elsewhere here, at once.</p>
      <ModelServerChooser
        keys={<p className="muted">The provider’s key: under API keys below (or its environment variable).</p>}
        onChanged={() => {
          models.reload();
          health.reload();
        }}
      />
      <h2>Models for each job</h2>
      <p className="muted">Chats and workflows use the default model; a workflow's master, managers and coders can each use another (e.g. a strong model to plan, a fast one to write).</p>
      {(
        [
          ['default_model', 'Default model'],
          ['model.master', 'Master (plans)'],
          ['model.manager', 'Managers (refine modules)'],
          ['model.coder', 'Coders (write files)'],
        ] as const
      ).map(([key, label]) => (
        <div className="row" key={key}>
          <label>
            {label}{' '}
            <select aria-label={label} value={settings.data?.[key] ?? ''} onChange={(e) => void save(key, e.target.value)}>
              <option value="">{key === 'default_model' ? 'the first model the server lists' : 'the default model'}</option>
              {(models.data ?? []).map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
              {settings.data?.[key] && !models.data?.some((m) => m.name === settings.data?.[key]) ? (
                <option value={settings.data[key] ?? ''}>{settings.data[key]} (not on the server)</option>
              ) : null}
            </select>
          </label>
        </div>
      ))}
      <h2>Code search</h2>
      <p className="muted">Each project's code is indexed for search and for the agents. With an embedding model (e.g. `nomic-embed-text`) search is hybrid: words and meaning; without one it searches by words.</p>
      <div className="row">
        <label>
          Embedding model{' '}
          <select aria-label="Embedding model" value={settings.data?.embedding_model ?? ''} onChange={(e) => void save('embedding_model', e.target.value)}>
            <option value="">the first embedding model the server lists</option>
            <option value="off">none: search by words only</option>
            {(models.data ?? []).map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
            {settings.data?.embedding_model && settings.data.embedding_model !== 'off' && !models.data?.some((m) => m.name === settings.data?.embedding_model) ? (
              <option value={settings.data.embedding_model}>{settings.data.embedding_model} (not on the server)</option>
            ) : null}
          </select>
        </label>
      </div>
      <h2>Workflows</h2>
      <div className="row">
        <label>
          Unfinished workflows when Atelier starts{' '}
          <select aria-label="Unfinished workflows when Atelier starts" value={settings.data?.resume_workflows === 'paused' ? 'paused' : ''} onChange={(e) => void save('resume_workflows', e.target.value)}>
            <option value="">continue them</option>
            <option value="paused">wait, paused, until resumed</option>
          </select>
        </label>
      </div>
      <div className="row">
        <label>
          <input
            type="checkbox"
            aria-label="Review workflow changes before they are committed"
            checked={settings.data?.['workflows.review'] === 'true'}
            onChange={(e) => void save('workflows.review', e.target.checked ? 'true' : 'false')}
          />{' '}
          Review workflow changes before they are committed <span className="muted">(the default of each workflow's own option)</span>
        </label>
      </div>
      <AgentTools autoApproveRun={settings.data?.['tools.auto_approve_run']} maxContext={settings.data?.max_context} onSet={(key, value) => save(key, value ?? '')} />
      <Sandbox />
      <Storage settings={settings.data} save={(key, value) => void save(key, value)} />
      <ApiKeys keys={settings.data?.api_keys} onChanged={settings.reload} />
      <McpServers />
      <h2>Models</h2>
      {models.error ? <p className="error">{models.error}</p> : null}
      <table aria-label="Models">
        <thead>
          <tr>
            <th>name</th>
            <th>provider</th>
            <th>family</th>
            <th>quantization</th>
            <th>size</th>
            <th>context</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(models.data ?? []).map((m) => (
            <tr key={m.name}>
              <td>{m.name}</td>
              <td>{m.provider}</td>
              <td>{m.family}</td>
              <td>{m.quantization}</td>
              <td>{gb(m.size)}</td>
              <td>{m.context_length ? `${m.context_length} tokens` : ''}</td>
              <td>
                <button
                  aria-label={`Delete ${m.name}`}
                  onClick={async () => {
                    if (!(await ask(`Delete ${m.name}?`))) return;
                    client.call('models.delete', { name: m.name }).catch((e: unknown) => setNote(errorText(e)));
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
 <h3>Recommended for coding on this machine</h3>
      <RecommendedModels />
      <div className="row">
        <input aria-label="Model to pull" value={name} onChange={(e) => setName(e.target.value)} placeholder="llama3.2 or qwen2.5-coder:7b" />
        <button onClick={() => void pull()} disabled={!name.trim()}>
          Pull
        </button>
      </div>
      {note ? <p role="alert" className="error">{note}</p> : null}
      {Object.values(pulls)
        .filter((p) => !['success', 'cancelled', 'error'].includes(p.status) && !recommended.includes(p.name))
        .map((p) => (
          <div key={p.name} className="row">
            {p.name}: {p.status}
            {p.total ? ` · ${Math.floor((100 * (p.completed ?? 0)) / p.total)}%` : ''} <progress aria-label={`Download of ${p.name}`} max={p.total ?? 1} value={p.completed ?? 0} />
            <button aria-label={`Cancel download of ${p.name}`} onClick={() => void client.call('models.pull_cancel', { name: p.name })}>
              Cancel
            </button>
          </div>
        ))}
      {desktop ? (
        <EmbeddedServer />
      ) : (
        <>
          <h2>This server</h2>
          <p>
            Address <code>{window.location.origin}</code>
          </p>
          {token ? (
            <p>
              Access token <code aria-label="Access token">{token}</code>{' '}
              <button onClick={() => void navigator.clipboard?.writeText(`${window.location.origin}/#token=${token}`)}>Copy link</button>
            </p>
          ) : null}
        </>
      )}
    </main>
  );
}
