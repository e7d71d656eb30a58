import { useState } from 'react';
import { RefreshCw } from 'lucide-react';
import { loadModels, useModels } from '../models';
import { RecommendedModels } from './RecommendedModels';
import { CloudKeys } from './Settings';
import { ModelServerChooser } from './ModelServer';

export type Platform = 'linux' | 'macos' | 'windows';

/** The person's OS, from User-Agent Client Hints when the browser has them, else navigator.platform. */
export function detectPlatform(nav: Navigator = navigator): Platform {
  const hinted = (nav as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform;
  const text = `${hinted ?? ''} ${nav.platform ?? ''} ${hinted ? '' : nav.userAgent}`.toLowerCase();
  if (/mac|iphone|ipad/.test(text)) return 'macos';
  if (/win/.test(text)) return 'windows';
  return 'linux';
}

/** How to install and start Ollama on each platform. */
function InstallOllama({ platform }: { platform: Platform }) {
  if (platform === 'macos')
    return (
      <ol className="steps">
        <li>
          Install Ollama: the app from <code>ollama.com/download</code>, or <code>brew install ollama</code>.
        </li>
        <li>
          Start it: open the Ollama app (it runs in the menu bar), or run <code>ollama serve</code> in a terminal.
        </li>
      </ol>
    );
  if (platform === 'windows')
    return (
      <ol className="steps">
        <li>
          Install Ollama with its installer, <code>OllamaSetup.exe</code> from <code>ollama.com/download</code>.
        </li>
        <li>It starts by itself (the llama in the notification area); otherwise start “Ollama” from the Start menu.</li>
      </ol>
    );
  return (
    <ol className="steps">
      <li>
        Install Ollama: <code>curl -fsSL https://ollama.com/install.sh | sh</code>
      </li>
      <li>
        Start it: <code>ollama serve</code> (the installer also sets up a service: <code>systemctl start ollama</code>).
      </li>
    </ol>
  );
}

/** Pointing Atelier at another model server (the setting `model_server`), or a cloud provider with its key. */
function OtherServer({ onAnswered }: { onAnswered: () => void }) {
  return (
    <section className="card" aria-labelledby="other-server-heading">
      <h2 id="other-server-heading">Or use another model server</h2>
      <ModelServerChooser keys={<CloudKeys />} onChanged={(answered) => answered && onAnswered()} />
    </section>
  );
}

/**
 * The first screen when there is no working model: no model server reachable (how to install
 * and start Ollama here, or another server; "Check again"), or a server without models (the
 * recommended ones to download). `onReady` when a model can answer (or the person goes on anyway).
 */
export function FirstRun({ onReady }: { onReady: () => void }) {
  const failure = useModels((s) => s.failure);
  const models = useModels((s) => s.models);
  const loading = useModels((s) => s.loading);
  const [platform] = useState(() => detectPlatform());
  const [checked, setChecked] = useState(0);
  const check = async () => {
    setChecked((n) => n + 1);
    if ((await loadModels()) && (useModels.getState().models?.length ?? 0) > 0) onReady();
  };
  const noServer = !!failure;
  return (
    <main className="first-run" aria-labelledby="first-run-heading">
      <div className="first-run-body">
        {noServer ? (
          <>
            <h1 id="first-run-heading">Connect a model server</h1>
            <p className="lead">
              Atelier’s agents run on a language model on your own machine. The simplest way to get one is <strong>Ollama</strong>, a free model server.
            </p>
            <section className="card" aria-labelledby="ollama-heading">
              <h2 id="ollama-heading">Install and start Ollama ({platform === 'macos' ? 'macOS' : platform === 'windows' ? 'Windows' : 'Linux'})</h2>
              <InstallOllama platform={platform} />
              <p className="muted">Atelier looks for it at http://127.0.0.1:11434 (or where <code>OLLAMA_HOST</code> says), then Check again below.</p>
            </section>
            <OtherServer onAnswered={() => void check()} />
            <p className="muted" role="status" aria-label="Why no model server answered">
              {checked ? 'Still no answer: ' : 'No model server answered: '}
              {failure}
            </p>
          </>
        ) : (
          <>
            <h1 id="first-run-heading">Download a model</h1>
            <p className="lead">The model server is running but has no models yet. Pick one to download; it becomes the model Atelier uses.</p>
            <RecommendedModels onPulled={() => void check()} />
            {models === null ? null : <p className="muted">{models.length} models on the server.</p>}
          </>
        )}
        <div className="row first-run-actions">
          <button className="primary" onClick={() => void check()} disabled={loading}>
            <RefreshCw size={14} aria-hidden />
            Check again
          </button>
          <button className="link" onClick={onReady}>
            Continue without a model
          </button>
        </div>
      </div>
    </main>
  );
}
