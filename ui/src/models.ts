/**
 * The model in use and what is known about models, shared by the status bar's model picker, the
 * first-run screen and Settings: `models.list`, the `default_model` setting, `models.recommended`
 * and `models.probe` (issue 20; see docs/protocol.md). An engine without the issue-20 methods
 * answers `not_found` for them: the UI then shows what it has without them.
 */
import { create } from 'zustand';
import { client, errorText } from './api';
import type { Model, ModelProbe, ModelsRecommended, RecommendedModel } from './protocol/generated';
import { RpcError } from './rpc/client';
import { adoptStoredChoice, THEME_SETTING } from './theme';

/** A listed model (with `probe` once `models.probe` has looked at it). */
export type ListedModel = Model;
export type { ModelProbe, RecommendedModel };
/** What `models.recommended` answers. */
export type Recommendations = ModelsRecommended;

/** "4.7 GB" (decimal, as Ollama shows sizes). */
export function formatBytes(bytes: number | null | undefined): string {
  if (!bytes || bytes <= 0) return '';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

/** "32k" for 32,768 tokens. */
export function contextBadge(tokens: number | null | undefined): string | null {
  if (!tokens || tokens <= 0) return null;
  return tokens >= 1024 ? `${Math.round(tokens / 1024)}k` : String(tokens);
}

/** The badges a model picker shows: "tools" (native or text tool calls) and its context ("32k"). */
export function badges(m: ListedModel): string[] {
  const out: string[] = [];
  const tools = m.probe?.tools;
  if (tools === 'native') out.push('tools');
  else if (tools === 'text') out.push('tools (text)');
  const ctx = contextBadge(m.probe?.context_length ?? m.context_length);
  if (ctx) out.push(ctx);
  return out;
}

/** Whether an error says the engine has no such method (an engine before issue 20). */
export const isMissingMethod = (e: unknown) => e instanceof RpcError && (e.code === -32601 || /unknown method/i.test(e.message));

interface ModelsState {
  /** `null` until loaded. */
  models: ListedModel[] | null;
  /** `models.list` failed (no model server reachable): the reason. */
  failure: string | null;
  /** The `default_model` setting (`null`: the first model the server lists). */
  chosen: string | null;
  /** `models.probe` answers by model name (this page's; the list's `probe` otherwise). */
  probes: Record<string, ModelProbe>;
  loading: boolean;
}

export const useModels = create<ModelsState>(() => ({ models: null, failure: null, chosen: null, probes: {}, loading: false }));

type SettingsData = Record<string, unknown>;

let inFlight: Promise<boolean> | null = null;

/**
 * Loads the models and the default model; resolves with whether a model server answered. Calls
 * made while one is on its way share it (the app's first-run check and the status bar both ask
 * as the page opens).
 */
export function loadModels(): Promise<boolean> {
  inFlight ??= load().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

async function load(): Promise<boolean> {
  useModels.setState({ loading: true });
  const settings = client.call<SettingsData>('settings.get').catch(() => null);
  // The theme chosen in another window or browser (the setting is the lasting copy).
  void settings.then((s) => adoptStoredChoice(s?.[THEME_SETTING]));
  try {
    const models = await client.call<ListedModel[]>('models.list');
    const s = await settings;
    const chosen = typeof s?.default_model === 'string' && s.default_model ? s.default_model : null;
    useModels.setState({ models, failure: null, chosen, loading: false });
    return true;
  } catch (e) {
    useModels.setState({ models: null, failure: errorText(e), loading: false });
    return false;
  }
}

/** The model chats and workflows use now: the setting, else the first listed. */
export function modelInUse(s: Pick<ModelsState, 'models' | 'chosen'>): string | null {
  return s.chosen ?? s.models?.[0]?.name ?? null;
}

/** What is known about a model's fitness: this page's probe, else the list's. */
export function probeOf(s: Pick<ModelsState, 'models' | 'probes'>, name: string): ModelProbe | null {
  return s.probes[name] ?? s.models?.find((m) => m.name === name)?.probe ?? null;
}

/** Asks the engine to probe a model (once; it remembers); nothing when it cannot yet. */
export async function probeModel(name: string): Promise<ModelProbe | null> {
  try {
    const probe = await client.call<ModelProbe>('models.probe', { name });
    useModels.setState((s) => ({ probes: { ...s.probes, [name]: probe } }));
    return probe;
  } catch {
    // An engine without `models.probe`, or a server that cannot answer: no badges, no warning.
    return null;
  }
}

/**
 * Points Atelier at another model server while it runs (setting `model_server`: an Ollama URL,
 * `openai+URL`, or a cloud provider's name; empty: the one it was started with), then reloads
 * the models. A server that cannot be used is refused (`invalid_input`) with the reason.
 */
export async function setModelServer(value: string | null): Promise<boolean> {
  await client.call('settings.set', { key: 'model_server', value });
  return loadModels();
}

/** Makes `name` the default model (setting `default_model`), then probes it. */
export async function chooseModel(name: string): Promise<void> {
  await client.call('settings.set', { key: 'default_model', value: name });
  useModels.setState({ chosen: name });
  void probeModel(name);
}
