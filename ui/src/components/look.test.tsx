// The look and the first run (issue 20): theme, command palette, status bar, first-run screen
// and recommended models, against the fake engine behind the real client (src/test/engine.ts).
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { client } from '../api';
import { App } from '../App';
import { Settings } from './Settings';
import { Workspace } from './Workspace';
import { CommandPalette } from './CommandPalette';
import { StatusBar } from './StatusBar';
import { RecommendedModels } from './RecommendedModels';
import { detectPlatform } from './FirstRun';
import { AboutAgent, introOf } from './Chat';
import { allCommands, fuzzyScore } from '../commands';
import { useModels } from '../models';
import { useThemeChoice } from '../theme';
import { fileIcon, folderIcon } from '../fileIcons';
import type { Message, Project } from '../protocol/generated';

vi.mock('@xterm/xterm', () => ({
  Terminal: class {
    options: Record<string, unknown> = {};
    loadAddon() {}
    open() {}
    onData() {
      return { dispose() {} };
    }
    onResize() {
      return { dispose() {} };
    }
    write() {}
    reset() {}
    focus() {}
    dispose() {}
  },
}));
vi.mock('@xterm/addon-fit', () => ({ FitAddon: class { fit() {} } }));
// Monaco needs a real layout engine: the editor pane is a stand-in here (it is not under test).
vi.mock('./Editor', () => ({ Editor: () => <div>editor</div>, loadMonaco: () => new Promise(() => undefined), language: () => 'plaintext' }));
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

const project: Project = { id: 'prj_1', name: 'demo', path: '/tmp/demo', created_at: '2026-11-23T00:00:00.000Z' };
const model = (name: string, extra: object = {}) => ({ name, provider: 'ollama', size: 4_700_000_000, ...extra });

/** Makes prefers-color-scheme answer `dark` (or not), as a browser's emulation would. */
function systemPrefersDark(dark: boolean) {
  const listeners = new Set<() => void>();
  vi.stubGlobal('matchMedia', (q: string) => ({
    matches: dark && q.includes('dark'),
    media: q,
    addEventListener: (_: string, l: () => void) => listeners.add(l),
    removeEventListener: (_: string, l: () => void) => listeners.delete(l),
  }));
}

beforeAll(() => {
  client.start();
  return waitFor(() => expect(client.state.status).toBe('open'));
});
beforeEach(() => {
  engine.reset();
  useModels.setState({ models: null, failure: null, chosen: null, probes: {}, loading: false });
  // The desktop shell's commands (the fake engine is reached through Tauri IPC: `desktop` is true).
  engine
    .command('plugin:event|listen', () => 1)
    .command('plugin:event|unlisten', () => null)
    .command('take_launch_folder', () => null)
    .command('server_status', () => ({ running: false, address: null, link: null, token: 't', port: 8000, public: false, reachable_at: [], error: null }));
  vi.stubGlobal('ResizeObserver', class { observe() {} unobserve() {} disconnect() {} });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  window.localStorage.clear();
  window.sessionStorage.clear();
});

describe('Theme', () => {
  it('applies the chosen theme over the system’s, keeps it for the next start, and follows the system again', async () => {
    systemPrefersDark(false);
    engine.on('settings.get', () => ({})).on('settings.set', () => ({}));
    render(<Settings />);
    const group = await screen.findByRole('radiogroup', { name: 'Theme' });
    expect((within(group).getByRole('radio', { name: 'System' }) as HTMLInputElement).checked).toBe(true);

    fireEvent.click(within(group).getByRole('radio', { name: 'Dark' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(window.localStorage.getItem('atelier.theme')).toBe('dark');
    await waitFor(() => expect(engine.callsOf('settings.set')).toContainEqual({ key: 'ui.theme', value: 'dark' }));

    fireEvent.click(within(group).getByRole('radio', { name: 'Light' }));
    expect(document.documentElement.dataset.theme).toBe('light');

    // System: the OS says dark, so dark; the override is forgotten.
    systemPrefersDark(true);
    fireEvent.click(within(group).getByRole('radio', { name: 'System' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(window.localStorage.getItem('atelier.theme')).toBeNull();
    await waitFor(() => expect(engine.callsOf('settings.set')).toContainEqual({ key: 'ui.theme', value: null }));
  });

  it('keeps the choice in this browser when the engine does not know `ui.theme` yet', async () => {
    systemPrefersDark(true);
    engine.on('settings.get', () => ({})).on('settings.set', (p) => {
      throw new EngineError(`unknown setting ${String(p.key)}`, -32602, 'invalid_input');
    });
    render(<Settings />);
    fireEvent.click(within(await screen.findByRole('radiogroup', { name: 'Theme' })).getByRole('radio', { name: 'Light' }));
    await waitFor(() => expect(engine.callsOf('settings.set')).toHaveLength(1));
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(window.localStorage.getItem('atelier.theme')).toBe('light');
    expect(screen.queryByText(/unknown setting/)).toBeNull();
    act(() => useThemeChoice.setState({ choice: 'system' }));
  });
});

describe('Command palette', () => {
  it('opens with Ctrl+Shift+P, filters by name, and runs “New terminal” with the keyboard', async () => {
    engine
      .on('terminals.list', () => [])
      .on('terminals.open', () => ({ terminal_id: 'term_new' }))
      .on('terminals.scrollback', () => ({ data_b64: '', offset: 0 }))
      .on('terminals.resize', () => ({}));
    const editorHere = document.createElement('textarea');
    document.body.appendChild(editorHere);
    editorHere.focus();
    render(
      <>
        <Workspace project={project} />
        <CommandPalette />
      </>,
    );
    expect(screen.queryByRole('dialog', { name: 'Command palette' })).toBeNull();
    fireEvent.keyDown(editorHere, { key: 'P', ctrlKey: true, shiftKey: true });
    const dialog = await screen.findByRole('dialog', { name: 'Command palette' });
    const input = within(dialog).getByRole('combobox', { name: 'Command' });
    expect(document.activeElement).toBe(input);
    // Every workspace action is listed, with its shortcut.
    const options = within(dialog).getAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual(expect.arrayContaining(['Terminal: New terminal', 'File: Go to fileCtrl+P', 'Terminal: Show or hide the terminalCtrl+`', 'Chat: New chat']));

    fireEvent.change(input, { target: { value: 'new term' } });
    const filtered = within(dialog).getAllByRole('option');
    expect(filtered[0].textContent).toBe('Terminal: New terminal');
    expect(filtered.some((o) => o.textContent?.includes('Go to file'))).toBe(false);
    fireEvent.change(input, { target: { value: 'nwtrm' } });
    expect(within(dialog).getAllByRole('option')[0].textContent).toBe('Terminal: New terminal');
    // Arrows move the selection (and wrap), Enter runs the selected command.
    expect(within(dialog).getAllByRole('option')[0].getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(input, { key: 'ArrowUp' });
    fireEvent.keyDown(input, { key: 'ArrowDown' });
    expect(input.getAttribute('aria-activedescendant')).toBe(within(dialog).getAllByRole('option')[0].id);
    const tabsBefore = screen.queryAllByRole('tab', { name: /^Terminal \d/ }).length;
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(screen.queryByRole('dialog', { name: 'Command palette' })).toBeNull();
    await waitFor(() => expect(engine.callsOf('terminals.open')).toHaveLength(1));
    await waitFor(() => expect(screen.getAllByRole('tab', { name: /^Terminal \d/ })).toHaveLength(tabsBefore + 1));
    editorHere.remove();
  });

  it('closes with Escape, gives the focus back, and says when nothing matches', async () => {
    const before = document.createElement('button');
    before.textContent = 'somewhere';
    document.body.appendChild(before);
    before.focus();
    render(<CommandPalette />);
    fireEvent.keyDown(before, { key: 'p', metaKey: true, shiftKey: true });
    const input = await screen.findByRole('combobox', { name: 'Command' });
    fireEvent.change(input, { target: { value: 'zzzzqqq' } });
    expect(screen.getByText(/No command matches/)).toBeTruthy();
    fireEvent.keyDown(input, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(before);
    before.remove();
  });

  it('has a command for every item of the desktop’s native menu (src-tauri/src/menu.rs sends these ids)', async () => {
    engine.on('models.list', () => [model('m')]).on('settings.get', () => ({})).on('projects.list', () => []).on('terminals.list', () => []);
    render(
      <>
        <App />
        <Workspace project={project} />
      </>,
    );
    await screen.findByRole('heading', { name: 'Projects' });
    const ids = allCommands().map((c) => c.id);
    for (const id of ['project.open', 'chat.new', 'terminal.new', 'settings.open', 'palette.open', 'file.goto', 'search.files', 'terminal.toggle', 'theme.toggle', 'workflow.new', 'git.commit']) expect(ids).toContain(id);
    // The palette's own entry opens it.
    act(() => allCommands().find((c) => c.id === 'palette.open')?.run());
    expect(await screen.findByRole('dialog', { name: 'Command palette' })).toBeTruthy();
  });

  it('ranks whole words first and letters in order after', () => {
    expect(fuzzyScore('Terminal: New terminal', 'new term')).toBeGreaterThan(fuzzyScore('Terminal: Show or hide the terminal', 'nwtrm') ?? 0);
    expect(fuzzyScore('Chat: New chat', 'new term')).toBeNull();
    expect(fuzzyScore('File: Go to file', 'gtf')).not.toBeNull();
    expect(fuzzyScore('File: Go to file', 'xyz')).toBeNull();
  });
});

describe('Status bar', () => {
  it('names the model in use, the server’s health and the sandbox; the picker shows badges, a warning, and changes the model', async () => {
    engine
      .on('models.list', () => [model('qwen2.5-coder:1.5b', { context_length: 32768 }), model('qwen2.5-coder:14b')])
      .on('settings.get', () => ({ default_model: 'qwen2.5-coder:1.5b' }))
      .on('settings.set', () => ({}))
      .on('system.health', () => ({ status: 'ok', checks: [{ name: 'model_endpoint', status: 'ok', detail: 'Ollama 0.5.7, 2 models' }] }))
      .on('sandbox.status', () => ({ setting: 'auto', mode: 'bubblewrap', status: 'ok', summary: 'bubblewrap', memory: '', network: false, allow_read: [] }))
      .on('models.probe', (p) =>
        p.name === 'qwen2.5-coder:1.5b'
          ? { name: p.name, context_length: 32768, tools: 'native', probed_at: '2026-12-06T00:00:00Z', warning: 'qwen2.5-coder:1.5b is too small for agents: use qwen2.5-coder:7b or larger.' }
          : { name: p.name, context_length: 131072, tools: 'text', probed_at: '2026-12-06T00:00:00Z' },
      );
    const openSettings = vi.fn();
    render(<StatusBar project={null} onOpenSettings={openSettings} />);
    const bar = screen.getByRole('contentinfo', { name: 'Status bar' });
    const modelButton = await within(bar).findByRole('button', { name: 'Model: qwen2.5-coder:1.5b. Choose the model' });
    expect(await within(bar).findByRole('status', { name: 'Model server ready' })).toBeTruthy();
    fireEvent.click(await within(bar).findByRole('button', { name: 'Sandbox: bubblewrap' }));
    expect(openSettings).toHaveBeenCalledOnce();
    await waitFor(() => expect(engine.callsOf('models.probe')).toEqual([{ name: 'qwen2.5-coder:1.5b' }]));

    fireEvent.click(modelButton);
    const picker = await screen.findByRole('dialog', { name: 'Choose the model' });
    const small = within(picker).getByRole('option', { name: /qwen2.5-coder:1.5b/ });
    expect(within(small).getByText('tools')).toBeTruthy();
    expect(within(small).getByText('32k')).toBeTruthy();
    expect(within(small).getByText('in use')).toBeTruthy();
    expect(within(picker).getByRole('note').textContent).toContain('too small for agents: use qwen2.5-coder:7b');

    // Keyboard: down to the 14b, Enter chooses it (the setting), and it is probed.
    const list = within(picker).getByRole('listbox', { name: 'Models' });
    expect(document.activeElement).toBe(list);
    fireEvent.keyDown(list, { key: 'ArrowDown' });
    fireEvent.keyDown(list, { key: 'Enter' });
    await waitFor(() => expect(engine.callsOf('settings.set')).toEqual([{ key: 'default_model', value: 'qwen2.5-coder:14b' }]));
    expect(await within(bar).findByRole('button', { name: 'Model: qwen2.5-coder:14b. Choose the model' })).toBeTruthy();
    await waitFor(() => expect(engine.callsOf('models.probe')).toContainEqual({ name: 'qwen2.5-coder:14b' }));
    expect(screen.queryByRole('dialog', { name: 'Choose the model' })).toBeNull();
    // Escape closes it and gives the focus back to the model's button.
    fireEvent.click(within(bar).getByRole('button', { name: /^Model: / }));
    fireEvent.keyDown(await screen.findByRole('listbox', { name: 'Models' }), { key: 'Escape' });
    expect(screen.queryByRole('dialog', { name: 'Choose the model' })).toBeNull();
    expect(document.activeElement).toBe(within(bar).getByRole('button', { name: /^Model: / }));
  });

  it('says when no model server answers, and counts the project’s running workflows', async () => {
    engine
      .on('models.list', () => {
        throw new EngineError('No model server is reachable at http://127.0.0.1:11434: start Ollama', -32004, 'unavailable');
      })
      .on('system.health', () => ({ status: 'degraded', checks: [{ name: 'model_endpoint', status: 'degraded', detail: 'cannot reach http://127.0.0.1:11434' }] }))
      .on('index.status', () => ({ state: 'ready', files: 12, chunks: 40, embedded_chunks: 0, mode: 'words' }))
      .on('workflows.list', () => [
        { id: 'wf_1', project_id: 'prj_1', request: 'Add a parser', state: 'running', progress: 0.4, created_at: '', stage: 'write' },
        { id: 'wf_0', project_id: 'prj_1', request: 'Old', state: 'completed', progress: 1, created_at: '', stage: 'commit' },
      ]);
    render(<StatusBar project={project} onOpenSettings={() => undefined} />);
    const bar = screen.getByRole('contentinfo', { name: 'Status bar' });
    expect(await within(bar).findByRole('button', { name: 'Model: no model server. Choose the model' })).toBeTruthy();
    expect(await within(bar).findByRole('status', { name: 'Model server unreachable' })).toBeTruthy();
    await waitFor(() => expect(within(bar).getByRole('button', { name: 'Code index' }).textContent).toBe('Index: 12 files · words'));
    expect(await within(bar).findByRole('button', { name: '1 workflow running. Show workflows' })).toBeTruthy();
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
  });

  it('follows the open project: its index alone, another project’s gone', async () => {
    engine.on('index.status', (p) => ({ state: 'ready', files: p.project_id === 'prj_1' ? 3 : 1, chunks: 1, embedded_chunks: 0, mode: 'keyword' })).on('workflows.list', () => []);
    const other = { ...project, id: 'prj_2', name: 'other' };
    const { rerender } = render(<StatusBar project={project} onOpenSettings={() => undefined} />);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Code index' }).textContent).toBe('Index: 3 files · keyword'));
    rerender(<StatusBar project={null} onOpenSettings={() => undefined} />);
    expect(screen.queryByRole('button', { name: 'Code index' })).toBeNull();
    rerender(<StatusBar project={other} onOpenSettings={() => undefined} />);
    await screen.findByText('Index: 1 files · keyword');
    expect(screen.getAllByRole('button', { name: 'Code index' })).toHaveLength(1);
  });
});

describe('First run', () => {
  it('shows how to get a model server when none answers, and “Check again” leads on to the projects', async () => {
    let up = false;
    engine
      .on('models.list', () => {
        if (!up) throw new EngineError('No model server is reachable at http://127.0.0.1:11434', -32004, 'unavailable');
        return [model('qwen2.5-coder:7b')];
      })
      .on('settings.get', () => ({}))
      .on('projects.list', () => [project]);
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Connect a model server' }, { timeout: 5000 })).toBeTruthy();
    expect(screen.getByText(/Ollama/, { selector: 'strong' })).toBeTruthy();
    // This platform's install steps (jsdom says Linux).
    expect(screen.getByText('curl -fsSL https://ollama.com/install.sh | sh')).toBeTruthy();
    expect(screen.getByText('ollama serve')).toBeTruthy();
    expect(screen.getByRole('status', { name: 'Why no model server answered' }).textContent).toContain('No model server is reachable at http://127.0.0.1:11434');
    expect(screen.queryByRole('heading', { name: 'Projects' })).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Check again' }));
    expect((await screen.findByRole('status', { name: 'Why no model server answered' })).textContent).toMatch(/^Still no answer/);
    up = true;
    fireEvent.click(screen.getByRole('button', { name: 'Check again' }));
    expect(await screen.findByRole('heading', { name: 'Projects' })).toBeTruthy();
    expect(screen.queryByRole('heading', { name: 'Connect a model server' })).toBeNull();
    expect(await screen.findByRole('button', { name: 'Model: qwen2.5-coder:7b. Choose the model' })).toBeTruthy();
  });

  it('points Atelier at another server (the setting model_server), says why one is refused, and leads on once it answers', async () => {
    let server: string | null = null;
    engine
      .on('models.list', () => {
        if (!server) throw new EngineError('No model server is reachable at http://127.0.0.1:11434', -32004, 'unavailable');
        return [model('qwen2.5-coder:7b', { provider: 'openai' })];
      })
      .on('settings.get', () => ({ model_server: server, api_keys: {} }))
      .on('settings.set', (p) => {
        if (p.key !== 'model_server') return {};
        if (!/^openai\+https?:\/\//.test(String(p.value))) throw new EngineError('model_server: not an http(s) URL: openai+10.0.0.5', -32602, 'invalid_input');
        server = String(p.value);
        return {};
      })
      .on('projects.list', () => []);
    render(<App />);
    await screen.findByRole('heading', { name: 'Connect a model server' }, { timeout: 5000 });
    fireEvent.click(screen.getByRole('radio', { name: 'OpenAI-compatible server' }));
    const url = screen.getByRole('textbox', { name: 'OpenAI-compatible URL' });
    fireEvent.change(url, { target: { value: '10.0.0.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this server' }));
    expect((await screen.findByRole('alert')).textContent).toContain('not an http(s) URL');
    fireEvent.change(url, { target: { value: 'http://10.0.0.5:8000/v1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this server' }));
    await waitFor(() => expect(engine.callsOf('settings.set')).toContainEqual({ key: 'model_server', value: 'openai+http://10.0.0.5:8000/v1' }));
    expect(await screen.findByRole('heading', { name: 'Projects' })).toBeTruthy();
    expect(await screen.findByRole('button', { name: 'Model: qwen2.5-coder:7b. Choose the model' })).toBeTruthy();
  });

  it('names the platform from the browser', () => {
    const nav = (platform: string, userAgent = '', hinted?: string) => ({ platform, userAgent, userAgentData: hinted ? { platform: hinted } : undefined }) as unknown as Navigator;
    expect(detectPlatform(nav('MacIntel'))).toBe('macos');
    expect(detectPlatform(nav('Win32'))).toBe('windows');
    expect(detectPlatform(nav('', '', 'Windows'))).toBe('windows');
    expect(detectPlatform(nav('Linux x86_64'))).toBe('linux');
  });

  it('offers the recommended models when the server has none; the download shows its progress, can be cancelled, and becomes the default', async () => {
    let installed: string[] = [];
    engine
      .on('models.list', () => installed.map((n) => model(n)))
      .on('settings.get', () => ({}))
      .on('settings.set', () => ({}))
      .on('projects.list', () => [])
      .on('models.pull', () => ({}))
      .on('models.pull_cancel', () => ({}))
      .on('models.recommended', () => ({
        memory_bytes: 16e9,
        free_memory_bytes: 9e9,
        models: [
          { name: 'qwen2.5-coder:7b', label: 'Qwen2.5 Coder 7B', params: '7B', size_bytes: 4.7e9, fits: true, installed: false, reason: 'Good with tools; fits in 9 GB free', agent_ready: true },
          { name: 'qwen2.5-coder:1.5b', label: 'Qwen2.5 Coder 1.5B', params: '1.5B', size_bytes: 1.0e9, fits: true, installed: false, reason: 'Fast, for chat only', agent_ready: false },
          { name: 'qwen2.5-coder:14b', label: 'Qwen2.5 Coder 14B', params: '14B', size_bytes: 9e9, fits: false, installed: false, reason: 'Best, needs more memory', agent_ready: true },
        ],
      }));
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Download a model' }, { timeout: 5000 })).toBeTruthy();
    const list = await screen.findByRole('list', { name: 'Recommended models' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows.map((r) => r.querySelector('code')?.textContent)).toEqual(['qwen2.5-coder:7b', 'qwen2.5-coder:1.5b', 'qwen2.5-coder:14b']);
    expect(within(rows[0]).getByText('4.7 GB')).toBeTruthy();
    expect(within(rows[1]).getByText('1.0 GB')).toBeTruthy();
    expect(within(rows[1]).getByText(/too small for agents/)).toBeTruthy();
    expect(within(rows[0]).queryByText(/too small for agents/)).toBeNull();
    expect(within(rows[2]).getByText(/may not fit/)).toBeTruthy();
    expect(screen.getByText(/16.0 GB of memory, 9.0 GB free/)).toBeTruthy();

    fireEvent.click(within(rows[0]).getByRole('button', { name: 'Download qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.callsOf('models.pull')).toEqual([{ name: 'qwen2.5-coder:7b' }]));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'qwen2.5-coder:7b', status: 'pulling 6a0746a1ec1a', completed: 1_000_000_000, total: 4_000_000_000 }));
    const bar = (await screen.findByRole('progressbar', { name: 'Download of qwen2.5-coder:7b' })) as HTMLProgressElement;
    expect(bar.value).toBe(1_000_000_000);
    expect(within(rows[0]).getByText('25%')).toBeTruthy();
    fireEvent.click(within(rows[0]).getByRole('button', { name: 'Cancel download of qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.callsOf('models.pull_cancel')).toEqual([{ name: 'qwen2.5-coder:7b' }]));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'qwen2.5-coder:7b', status: 'cancelled' }));
    // Resume pulls again (Ollama keeps what was downloaded).
    fireEvent.click(await within(rows[0]).findByRole('button', { name: 'Resume qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.callsOf('models.pull')).toHaveLength(2));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'qwen2.5-coder:7b', status: 'pulling 6a0746a1ec1a', completed: 3_000_000_000, total: 4_000_000_000 }));
    expect(((await screen.findByRole('progressbar', { name: 'Download of qwen2.5-coder:7b' })) as HTMLProgressElement).value).toBe(3_000_000_000);
    installed = ['qwen2.5-coder:7b'];
    act(() => engine.emit('models', 'model.pull_progress', { name: 'qwen2.5-coder:7b', status: 'success' }));
    await waitFor(() => expect(engine.callsOf('settings.set')).toContainEqual({ key: 'default_model', value: 'qwen2.5-coder:7b' }));
    // The model works: on to the app, the status bar names it.
    expect(await screen.findByRole('heading', { name: 'Projects' })).toBeTruthy();
    expect(await screen.findByRole('button', { name: 'Model: qwen2.5-coder:7b. Choose the model' })).toBeTruthy();
  });

  it('shows the same recommendations in Settings → Models, each download with one progress bar', async () => {
    engine
      .on('models.list', () => [model('llama3.2')])
      .on('settings.get', () => ({}))
      .on('models.pull', () => ({}))
      .on('models.recommended', () => ({
        memory_bytes: 8e9,
        free_memory_bytes: 5e9,
        models: [{ name: 'qwen2.5-coder:3b', label: 'Qwen2.5 Coder 3B', params: '3.1B', size_bytes: 1.9e9, fits: true, installed: false, reason: 'The largest that fits 5 GB free', agent_ready: true }],
      }));
    render(<Settings />);
    const list = await screen.findByRole('list', { name: 'Recommended models' });
    expect(within(list).getByText('1.9 GB')).toBeTruthy();
    fireEvent.click(within(list).getByRole('button', { name: 'Download qwen2.5-coder:3b' }));
    await waitFor(() => expect(engine.callsOf('models.pull')).toEqual([{ name: 'qwen2.5-coder:3b' }]));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'qwen2.5-coder:3b', status: 'pulling abc', completed: 5, total: 10 }));
    await screen.findByRole('progressbar', { name: 'Download of qwen2.5-coder:3b' });
    expect(screen.getAllByRole('progressbar', { name: 'Download of qwen2.5-coder:3b' })).toHaveLength(1);
  });

  it('says so when the engine cannot recommend models yet', async () => {
    engine.on('models.list', () => []);
    render(<RecommendedModels />);
    expect(await screen.findByText(/cannot recommend models yet/)).toBeTruthy();
  });
});

describe('Chat intro and file icons', () => {
  const m = (id: string, role: Message['role'], content: string): Message => ({ id, session_id: 's', role, content, status: 'complete', created_at: '', reasoning: '', tool_calls: [] });
  it('folds the agent’s instructions and greeting into one line, unfolded on request', () => {
    const messages = [m('1', 'system', 'You are Atelier’s coding assistant.'), m('2', 'assistant', 'Hello! Ask me about your code.'), m('3', 'user', 'hi'), m('4', 'assistant', 'Hi there')];
    const intro = introOf(messages);
    expect(intro.map((x) => x.id)).toEqual(['1', '2']);
    expect(introOf(messages.slice(2))).toEqual([]);
    const { container } = render(<AboutAgent agent="assistant" intro={intro} />);
    const details = container.querySelector('details');
    expect(details?.open).toBe(false);
    expect(container.querySelector('summary')?.textContent).toBe('About this agent: Assistant — Hello! Ask me about your code.');
    fireEvent.click(container.querySelector('summary') as HTMLElement);
    expect(screen.getByText('You are Atelier’s coding assistant.')).toBeTruthy();
  });

  it('gives files and folders their type’s icon, bundled', () => {
    expect(fileIcon('src/main.rs')).toMatch(/rust\.svg|^data:image\/svg/);
    expect(fileIcon('ui/App.tsx')).not.toBe(fileIcon('notes.unknownext'));
    expect(fileIcon('Cargo.toml')).toBe(fileIcon('src/lib.rs'));
    expect(folderIcon('src', true)).not.toBe(folderIcon('src', false));
    expect(fileIcon('x.py')).not.toMatch(/^https?:/);
  });
});
