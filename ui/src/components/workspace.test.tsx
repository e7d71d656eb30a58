// Components against a fake engine behind the real client (see src/test/engine.ts).
import { useLiveFiles } from '../live';
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { client } from '../api';
import { ProjectList, SandboxOffBar, SharingBar } from '../App';
import { Chat, MessageView } from './Chat';
import { Settings, PUBLIC_WARNING } from './Settings';
import { Terminals, mergeListed, savedTerminals } from './Terminals';
import { useServer, type ServerStatus } from '../desktop';
import { Workflows } from './Workflows';
import { QuickOpen, score } from './QuickOpen';
import { FileTree, OPEN_ALL_UP_TO } from './FileTree';
import { mayDiscardUnsaved, namePaths, tellShellBeforeClose, useUnsaved } from '../unsaved';
import { GitPanel } from './Git';
import { Checkpoints } from './Checkpoints';
import { Monitor, agentHealth } from './Monitor';
import type { Agent, FileEntry, Message, Project, Session, Workflow } from '../protocol/generated';

// xterm.js needs a real layout engine: the terminal tests use a stand-in that keeps what it was given.
vi.mock('@xterm/xterm', () => ({
  Terminal: class {
    options: Record<string, unknown> = {};
    written: unknown[] = [];
    loadAddon() {}
    open() {}
    onData() {
      return { dispose() {} };
    }
    onResize() {
      return { dispose() {} };
    }
    write(data: unknown) {
      this.written.push(data);
    }
    reset() {}
    focus() {}
    dispose() {}
  },
}));
vi.mock('@xterm/addon-fit', () => ({ FitAddon: class { fit() {} } }));
// The WebGL addon probes for a context when it loads: there is none here (jsdom has no canvas).
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

// jsdom lays nothing out: give elements a size so the virtualized message list renders rows.
beforeAll(() => {
  for (const [prop, value] of [
    ['clientHeight', 600],
    ['clientWidth', 400],
    ['offsetHeight', 60],
    ['offsetWidth', 400],
  ] as const) {
    Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => value });
  }
  client.start();
  return waitFor(() => expect(client.state.status).toBe('open'));
});
beforeEach(() => engine.reset());
afterEach(cleanup);

const project: Project = { id: 'prj_1', name: 'demo', path: '/tmp/demo', created_at: '2026-11-23T00:00:00.000Z' };
const session: Session = { id: 'ses_1', project_id: 'prj_1', agent: 'assistant', title: 'First chat', created_at: '2026-11-23T00:00:00.000Z', model: null, tools: false };
const msg = (id: string, role: Message['role'], content: string, status: Message['status'] = 'complete', extra: Partial<Message> = {}): Message => ({
  id,
  session_id: 'ses_1',
  role,
  content,
  status,
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
  tool_calls: [],
  ...extra,
});
const agent = (id: string, role: string, parent: string | null, status = 'busy', metrics: object = {}): Agent => ({
  id,
  role,
  name: `${role}-${id}`,
  parent_id: parent,
  status,
  task: '',
  metrics: { tokens_in: 10, tokens_out: 5, context_used: 100, context_limit: 8192, ...metrics },
});

describe('ProjectList', () => {
  it('creates a project with the typed name and opens it', async () => {
    engine.on('projects.list', () => []).on('projects.create', (p) => ({ ...project, name: p.name }));
    const onOpen = vi.fn();
    render(<ProjectList onOpen={onOpen} />);
    await screen.findByText(/No projects yet/);
    fireEvent.click(screen.getByRole('button', { name: 'New project' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Project name' }), { target: { value: '  my app ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onOpen).toHaveBeenCalledWith(expect.objectContaining({ name: 'my app' })));
    expect(engine.callsOf('projects.create')).toEqual([{ name: 'my app' }]);
  });

  it('shows the server’s refusal instead of failing silently', async () => {
    engine.on('projects.list', () => []).on('projects.create', () => {
      throw new EngineError('the folder /x/demo exists and is not empty', -32002, 'conflict');
    });
    render(<ProjectList onOpen={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'New project' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Project name' }), { target: { value: 'demo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect((await screen.findByRole('alert')).textContent).toContain('exists and is not empty');
  });

  it('imports a folder as a copy with a progress bar', async () => {
    let finish: (p: Project) => void = () => undefined;
    engine.on('projects.list', () => []).on('projects.import', () => new Promise<Project>((r) => (finish = r)));
    const onOpen = vi.fn();
    render(<ProjectList onOpen={onOpen} />);
    fireEvent.change(await screen.findByRole('textbox', { name: 'Folder to import' }), { target: { value: '/home/me/app' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /copy into Atelier/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Import folder' }));
    await waitFor(() => expect(engine.topics.has('system')).toBe(true));
    expect(engine.callsOf('projects.import')).toEqual([{ path: '/home/me/app', copy: true }]);
    act(() => engine.emit('system', 'project.import_progress', { path: '/home/me/app', files_done: 3, files_total: 10, bytes_done: 300, bytes_total: 1000 }));
    expect(((await screen.findByRole('progressbar', { name: 'Import progress' })) as HTMLProgressElement).value).toBe(300);
    expect(screen.getByText(/Copying 3 of 10 files/)).toBeTruthy();
    act(() => finish(project));
    await waitFor(() => expect(onOpen).toHaveBeenCalledWith(project));
    await waitFor(() => expect(engine.topics.has('system')).toBe(false));
  });

  it('removes a project only after confirmation, keeping or deleting its folder', async () => {
    engine.on('projects.list', () => [project]).on('projects.delete', () => ({}));
    render(<ProjectList onOpen={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Remove demo' }));
    fireEvent.click(screen.getByRole('button', { name: 'Keep' }));
    expect(engine.callsOf('projects.delete')).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Remove demo' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove, keep the folder' }));
    await waitFor(() => expect(engine.callsOf('projects.delete')).toEqual([{ id: 'prj_1' }]));
    fireEvent.click(await screen.findByRole('button', { name: 'Remove demo' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove and delete /tmp/demo' }));
    await waitFor(() => expect(engine.callsOf('projects.delete')[1]).toEqual({ id: 'prj_1', delete_files: true }));
  });
});

describe('ProjectList in the desktop app', () => {
  it('fills the import path from the native folder dialog', async () => {
    engine.on('projects.list', () => []).command('plugin:dialog|open', () => '/home/me/picked');
    render(<ProjectList onOpen={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Choose a folder to import' }));
    await waitFor(() => expect((screen.getByRole('textbox', { name: 'Folder to import' }) as HTMLInputElement).value).toBe('/home/me/picked'));
    expect(engine.invokesOf('plugin:dialog|open')).toEqual([{ options: expect.objectContaining({ directory: true }) }]);
  });

  it('exports to the file the Save dialog chose and says where and how big', async () => {
    engine
      .on('projects.list', () => [project])
      .on('projects.export', (p) => ({ path: p.path, bytes: 2560 }))
      .command('plugin:dialog|save', () => '/home/me/demo.zip');
    render(<ProjectList onOpen={() => undefined} />);
    // No download link in the desktop app: a button opens the Save dialog.
    fireEvent.click(await screen.findByRole('button', { name: 'Export demo' }));
    expect(screen.queryByRole('link', { name: 'Export demo' })).toBeNull();
    expect((await screen.findByRole('status')).textContent).toContain('Exported to /home/me/demo.zip (3 KB)');
    expect(engine.callsOf('projects.export')).toEqual([{ id: 'prj_1', path: '/home/me/demo.zip' }]);
    const [{ options }] = engine.invokesOf('plugin:dialog|save') as { options: { defaultPath: string; filters: { extensions: string[] }[] } }[];
    expect(options.defaultPath).toBe('demo.zip');
    expect(options.filters[0].extensions).toEqual(['zip']);
  });

  it('exports nothing when the Save dialog is cancelled, and shows a failed export', async () => {
    let answer: string | null = null;
    engine
      .on('projects.list', () => [project])
      .on('projects.export', () => {
        throw new EngineError('the folder /nope does not exist', -32602, 'invalid_input');
      })
      .command('plugin:dialog|save', () => answer);
    render(<ProjectList onOpen={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Export demo' }));
    await waitFor(() => expect(engine.invokesOf('plugin:dialog|save')).toHaveLength(1));
    expect(engine.callsOf('projects.export')).toEqual([]);
    answer = '/nope/demo.zip';
    fireEvent.click(screen.getByRole('button', { name: 'Export demo' }));
    expect((await screen.findByRole('alert')).textContent).toContain('the folder /nope does not exist');
  });
});

describe('Chat', () => {
  const seeded = () => {
    engine
      .on('sessions.list', () => [session])
      .on('messages.list', () => [msg('m0', 'system', 'You are Atelier’s assistant.'), msg('m1', 'assistant', 'Hello! What shall we build?')])
      .on('messages.send', () => ({ user_message_id: 'm2', reply_id: 'm3' }))
      .on('messages.stop', () => ({ stopped: true }));
  };

  it('renames the open chat with Enter, and Escape leaves the title as it was', async () => {
    seeded();
    let title = session.title;
    engine
      .on('sessions.list', () => [{ ...session, title }])
      .on('sessions.rename', (p) => {
        title = p.title as string;
        return { ...session, title };
      });
    render(<Chat project={project} />);
    await waitFor(() => expect(engine.topics.has('session/ses_1')).toBe(true));
    fireEvent.click(screen.getByRole('button', { name: 'Rename chat' }));
    const box = screen.getByRole('textbox', { name: 'Chat title' }) as HTMLInputElement;
    expect(box.value).toBe('First chat');
    fireEvent.change(box, { target: { value: 'Parser work' } });
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByRole('textbox', { name: 'Chat title' })).toBeNull();
    expect(engine.callsOf('sessions.rename')).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Rename chat' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Chat title' }), { target: { value: 'Parser work' } });
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'Chat title' }), { key: 'Enter' });
    await waitFor(() => expect(engine.callsOf('sessions.rename')).toEqual([{ id: 'ses_1', title: 'Parser work' }]));
    expect(await screen.findByRole('option', { name: 'Parser work' })).toBeTruthy();
  });

  it('retries the last reply when it failed, and only then', async () => {
    engine
      .on('sessions.list', () => [session])
      .on('messages.list', () => [msg('m1', 'user', 'are you there?'), msg('m2', 'assistant', '', 'failed', { error: 'No model server is reachable' })])
      .on('messages.retry', () => ({ reply_id: 'm3' }));
    render(<Chat project={project} />);
    const retry = await screen.findByRole('button', { name: 'Retry' });
    expect(retry.closest('article')?.textContent).toContain('No model server is reachable');
    fireEvent.click(retry);
    await waitFor(() => expect(engine.callsOf('messages.retry')).toEqual([{ session_id: 'ses_1' }]));
    act(() => engine.emit('session/ses_1', 'message.created', { message: msg('m3', 'assistant', '', 'streaming') }));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull());
    // The failed reply stays where it was.
    expect(screen.getByText('No model server is reachable')).toBeTruthy();
  });

  it('shows the system and seed messages when a session opens', async () => {
    seeded();
    render(<Chat project={project} />);
    expect(await screen.findByText('You are Atelier’s assistant.')).toBeTruthy();
    expect(screen.getByText('Hello! What shall we build?')).toBeTruthy();
    await waitFor(() => expect(engine.topics.has('session/ses_1')).toBe(true));
  });

  it('sends with Ctrl+Enter and streams the reply once, in order', async () => {
    seeded();
    render(<Chat project={project} />);
    await waitFor(() => expect(engine.topics.has('session/ses_1')).toBe(true));
    const box = screen.getByRole('textbox', { name: 'Message' });
    fireEvent.change(box, { target: { value: 'write fizzbuzz' } });
    fireEvent.keyDown(box, { key: 'Enter', ctrlKey: true });
    await waitFor(() => expect(engine.callsOf('messages.send')).toEqual([{ session_id: 'ses_1', content: 'write fizzbuzz' }]));
    await waitFor(() => expect((box as HTMLTextAreaElement).value).toBe(''));

    act(() => {
      engine.emit('session/ses_1', 'message.created', { message: msg('m2', 'user', 'write fizzbuzz') });
      engine.emit('session/ses_1', 'message.created', { message: msg('m3', 'assistant', '', 'streaming') });
      engine.emit('session/ses_1', 'message.delta', { message_id: 'm3', delta: 'Here ' });
      engine.emit('session/ses_1', 'message.delta', { message_id: 'm3', delta: 'it is.' });
    });
    expect(await screen.findByText('Here it is.')).toBeTruthy();
    expect(screen.getByText(/writing…/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await waitFor(() => expect(engine.callsOf('messages.stop')).toEqual([{ session_id: 'ses_1' }]));

    act(() => {
      engine.emit('session/ses_1', 'message.completed', { message: msg('m3', 'assistant', 'Here it is.', 'interrupted') });
      engine.emit('session/ses_1', 'context.usage', { used_tokens: 2048, limit_tokens: 8192 });
    });
    await screen.findByText(/· stopped/);
    // Screen readers hear that the reply ended (not each token).
    expect(document.querySelector('[aria-live="polite"]')?.textContent).toBe('The reply was stopped.');
    expect(screen.getAllByText('Here it is.', { selector: '.msg p' })).toHaveLength(1);
    expect(screen.getAllByText('write fizzbuzz')).toHaveLength(1);
    expect(screen.getByRole('meter', { name: 'Context used' }).getAttribute('value')).toBe('2048');
    expect(screen.getByText('25%')).toBeTruthy();
  });

  it('shows why a reply failed, in the server’s words', async () => {
    seeded();
    render(<Chat project={project} />);
    await waitFor(() => expect(engine.topics.has('session/ses_1')).toBe(true));
    act(() => {
      engine.emit('session/ses_1', 'message.created', { message: msg('m3', 'assistant', '', 'streaming') });
      engine.emit('session/ses_1', 'message.failed', {
        message_id: 'm3',
        error: { message: 'No model server answers at http://127.0.0.1:11434: start Ollama or set OLLAMA_HOST.', kind: 'unavailable', retryable: true },
      });
    });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('start Ollama or set OLLAMA_HOST');
  });

  it('refetches the conversation after a stream gap', async () => {
    seeded();
    render(<Chat project={project} />);
    await waitFor(() => expect(engine.topics.has('session/ses_1')).toBe(true));
    expect(engine.callsOf('messages.list')).toHaveLength(1);
    engine.on('messages.list', () => [msg('m0', 'system', 'You are Atelier’s assistant.'), msg('m9', 'assistant', 'Missed while away')]);
    act(() => engine.emit('session/ses_1', 'stream.gap', { from_seq: 1, to_seq: 50 }));
    expect(await screen.findByText('Missed while away')).toBeTruthy();
    expect(engine.callsOf('messages.list')).toHaveLength(2);
  });

  it('opens the history search from a signal and opens a hit’s chat', async () => {
    seeded();
    engine.on('messages.search', () => [{ message: msg('m1', 'assistant', 'Hello!'), snippet: '[Hello]! What shall we build?' }]);
    const { rerender } = render(<Chat project={project} searchSignal={0} />);
    expect(screen.queryByRole('dialog', { name: 'Search history' })).toBeNull();
    rerender(<Chat project={project} searchSignal={1} />);
    fireEvent.change(within(await screen.findByRole('dialog', { name: 'Search history' })).getByRole('textbox', { name: 'Search' }), { target: { value: 'hello' } });
    await screen.findByRole('button', { name: /Open the chat of: \[Hello\]/ }, { timeout: 2000 });
    expect(engine.callsOf('messages.search')[0]).toMatchObject({ query: 'hello', project_id: 'prj_1' });
    // Across all projects: a hit elsewhere is shown as such, not as a chat to open here.
    engine.on('messages.search', (p) =>
      p.project_id
        ? [{ message: msg('m1', 'assistant', 'Hello!'), snippet: '[Hello]! What shall we build?' }]
        : [{ message: { ...msg('m7', 'user', 'hello'), session_id: 'ses_other' }, snippet: '[hello] elsewhere' }],
    );
    fireEvent.click(screen.getByRole('checkbox', { name: /all projects/ }));
    expect(await screen.findByText(/in another project/)).toBeTruthy();
    expect(engine.callsOf('messages.search').at(-1)).toEqual({ query: 'hello', limit: 20 });
    expect(screen.queryByRole('button', { name: /Open the chat of: \[hello\] elsewhere/ })).toBeNull();
    fireEvent.click(screen.getByRole('checkbox', { name: /all projects/ }));
    fireEvent.click(await screen.findByRole('button', { name: /Open the chat of: \[Hello\]/ }, { timeout: 2000 }));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Search history' })).toBeNull());
  });
});

describe('Workflows', () => {
  const wf = (patch: Partial<Workflow> = {}): Workflow =>
    ({ id: 'wf_1', project_id: 'prj_1', request: 'Add a greeting', state: 'running', progress: 0.25, created_at: new Date().toISOString(), stage: 'write', agents: [], ...patch }) as Workflow;

  it('starts a workflow, shows the live agent tree and controls it', async () => {
    engine
      .on('workflows.list', () => [])
      .on('workflows.start', () => wf({ state: 'planning', progress: 0 }))
      .on('workflows.get', () => wf({ state: 'planning', progress: 0 }))
      .on('workflows.control', (p) => wf({ state: p.action === 'pause' ? 'paused' : p.action === 'cancel' ? 'cancelled' : 'running' }));
    const onOpenFile = vi.fn();
    render(<Workflows project={project} onOpenFile={onOpenFile} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Add a greeting' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
    expect(engine.callsOf('workflows.start')[0]).toEqual({ project_id: 'prj_1', request: 'Add a greeting', options: { approve_plan: false } });

    act(() => {
      engine.emit('workflow/wf_1', 'workflow.state', { state: 'running' });
      engine.emit('workflow/wf_1', 'agent.status', { agent: agent('a1', 'master', null, 'done') });
      engine.emit('workflow/wf_1', 'agent.status', { agent: agent('a2', 'manager', 'a1') });
      engine.emit('workflow/wf_1', 'agent.status', { agent: agent('a3', 'coder', 'a2') });
      engine.emit('workflow/wf_1', 'workflow.progress', { progress: 0.5, stage: 'write', message: 'writing src/greet.txt' });
      engine.emit('workflow/wf_1', 'file.delta', { agent_id: 'a3', path: 'src/greet.txt', delta: 'hel' });
    });
    // master → manager → coder, nested, each with status, current file, tokens and a context meter.
    const master = await screen.findByLabelText('master master-a1: done');
    const coder = screen.getByLabelText('coder coder-a3: busy');
    expect(master.closest('li')?.contains(coder)).toBe(true);
    expect(coder.textContent).toContain('src/greet.txt');
    expect(coder.textContent).toContain('15 tokens');
    expect(screen.getByRole('meter', { name: 'Context of coder-a3' })).toBeTruthy();
    expect((screen.getByRole('progressbar', { name: 'Workflow progress' }) as HTMLProgressElement).value).toBe(50);
    expect(screen.getByText(/50% · write · writing src\/greet.txt/)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect((screen.getByRole('button', { name: 'Resume' }) as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(engine.callsOf('workflows.control').map((c) => c.action)).toEqual(['pause', 'resume']));

    act(() => engine.emit('workflow/wf_1', 'file.written', { agent_id: 'a3', path: 'src/greet.txt', bytes: 5 }));
    fireEvent.click(await screen.findByRole('button', { name: 'src/greet.txt' }));
    expect(onOpenFile).toHaveBeenCalledWith('src/greet.txt');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(engine.callsOf('workflows.control').map((c) => c.action)).toEqual(['pause', 'resume', 'cancel']));
  });

  it("shows each agent's tool calls in its lane and a new loop step replaces the streamed text", async () => {
    engine
      .on('workflows.list', () => [])
      .on('workflows.start', () => wf())
      .on('workflows.get', () => wf());
    render(<Workflows project={project} onOpenFile={vi.fn()} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Add a greeting' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
    act(() => {
      engine.emit('workflow/wf_1', 'agent.status', { agent: agent('a1', 'master', null, 'busy') });
      engine.emit('workflow/wf_1', 'tool.call', { agent_id: 'a1', call: { id: 'c1', name: 'read_file', arguments: { path: 'README.md' } }, needs_approval: false });
    });
    const lane = await screen.findByRole('list', { name: 'Tool calls of master master-a1' });
    expect(lane.textContent).toContain('read_file');
    expect(lane.textContent).toContain('README.md');
    expect(lane.textContent).toContain('running');
    act(() => engine.emit('workflow/wf_1', 'tool.result', { agent_id: 'a1', call_id: 'c1', status: 'ok', content: '# hi' }));
    await waitFor(() => expect(lane.textContent).toContain('ok'));

    act(() => {
      engine.emit('workflow/wf_1', 'file.delta', { agent_id: 'a3', path: 'src/greet.txt', delta: 'Let me look first.', step: 0 });
    });
    expect(useLiveFiles.getState().files['src/greet.txt']).toBe('Let me look first.');
    act(() => engine.emit('workflow/wf_1', 'file.delta', { agent_id: 'a3', path: 'src/greet.txt', delta: 'hello', step: 1 }));
    expect(useLiveFiles.getState().files['src/greet.txt']).toBe('hello');
  });

  it('passes the check command, parallelism, fix rounds and model chosen in the options', async () => {
    engine
      .on('workflows.list', () => [])
      .on('workflows.start', () => wf())
      .on('workflows.get', () => wf())
      .on('models.list', () => [{ name: 'qwen2.5-coder:7b', provider: 'ollama' }]);
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Add tests' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Check command' }), { target: { value: 'npm test' } });
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Coders at once' }), { target: { value: '2' } });
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Fix rounds' }), { target: { value: '9' } });
    await screen.findByRole('option', { name: 'qwen2.5-coder:7b' });
    fireEvent.change(screen.getByRole('combobox', { name: 'Model' }), { target: { value: 'qwen2.5-coder:7b' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /approve the plan first/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() =>
      expect(engine.callsOf('workflows.start')).toEqual([
        { project_id: 'prj_1', request: 'Add tests', options: { approve_plan: true, verify: 'npm test', max_parallel: 2, max_fix_rounds: 5, model: 'qwen2.5-coder:7b' } },
      ]),
    );
  });

  it('shows the model use of a finished workflow, in total and by module', async () => {
    const usage = {
      total: { key: '', calls: 3, prompt_tokens: 120, completion_tokens: 30 },
      by_agent: [],
      by_module: [
        { key: 'plan', calls: 1, prompt_tokens: 50, completion_tokens: 20 },
        { key: 'greet', calls: 2, prompt_tokens: 70, completion_tokens: 10 },
      ],
    };
    engine.on('workflows.list', () => [wf({ state: 'completed', progress: 1 })]).on('workflows.get', () => wf({ state: 'completed', progress: 1, usage }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    expect(await screen.findByText(/Model use: 3 calls · 150 tokens \(120 in, 30 out\)/)).toBeTruthy();
    const rows = within(screen.getByRole('table', { name: 'Model use by module' })).getAllByRole('row');
    expect(rows.map((r) => r.textContent)).toEqual(['modulecallstokens intokens out', 'plan15020', 'greet27010']);
  });

  it('lists the files a running workflow wrote before it was opened, then the ones it writes', async () => {
    engine.on('workflows.list', () => [wf()]).on('workflows.get', () => wf({ files: [{ path: 'src/a.txt', bytes: 2048 }] }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    const list = await screen.findByRole('list', { name: 'Files written' });
    expect(list.textContent).toContain('src/a.txt 2.0 KB');
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
    act(() => {
      engine.emit('workflow/wf_1', 'file.written', { agent_id: 'a3', path: 'src/b.txt', bytes: 12 });
      engine.emit('workflow/wf_1', 'file.written', { agent_id: 'a4', path: 'src/a.txt', bytes: 100 });
    });
    await waitFor(() => expect(within(list).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['src/a.txt 100 B ', 'src/b.txt 12 B ']));
  });

  it('shows the check as it runs and each round’s result, or that the plan’s check was not run', async () => {
    engine.on('workflows.list', () => [wf({ state: 'verifying' })]).on('workflows.get', () => wf({ state: 'verifying' }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
    act(() => {
      engine.emit('workflow/wf_1', 'verify.line', { round: 0, line: 'running 3 tests' });
      engine.emit('workflow/wf_1', 'verify.line', { round: 0, line: 'test greet ... FAILED' });
    });
    expect((await screen.findByLabelText('Check output')).textContent).toBe('running 3 tests\ntest greet ... FAILED');
    act(() => {
      engine.emit('workflow/wf_1', 'verify.output', { round: 0, ok: false, output: 'test greet ... FAILED', sandbox: 'bubblewrap' });
      engine.emit('workflow/wf_1', 'verify.output', { round: 1, ok: true, output: 'test greet ... ok', sandbox: 'bubblewrap' });
    });
    const rounds = await screen.findByRole('list', { name: 'Check rounds' });
    await waitFor(() => expect(within(rounds).getAllByRole('listitem').map((li) => li.querySelector('summary')?.textContent)).toEqual(['First run: failed (ran in the bubblewrap sandbox)', 'After fix round 1: passed (ran in the bubblewrap sandbox)']));
    expect(screen.queryByLabelText('Check output')).toBeNull();
    act(() => engine.emit('workflow/wf_1', 'verify.skipped', { command: 'rm -rf build', reason: 'nobody approved the plan; give it as the check command, or approve the plan first, to have it run' }));
    expect((await screen.findByRole('note')).textContent).toBe(
      "The plan's check rm -rf build was not run: nobody approved the plan; give it as the check command, or approve the plan first, to have it run.",
    );
  });

  it('retries a failed workflow from where it failed', async () => {
    engine
      .on('workflows.list', () => [wf({ state: 'failed', error: 'the model server refused the request' })])
      .on('workflows.get', () => wf({ state: 'failed', error: 'the model server refused the request' }))
      .on('workflows.control', () => wf({ state: 'running' }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    expect(await screen.findByText('the model server refused the request')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Resume' })?.hasAttribute('disabled')).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(engine.callsOf('workflows.control')).toEqual([{ id: 'wf_1', action: 'retry' }]));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull());
    expect(screen.queryByText('the model server refused the request')).toBeNull();
  });

  it('says that approving the plan also runs the check it proposes', async () => {
    const plan = { summary: 'Greeting', verify: 'cargo test', modules: [{ name: 'greet', responsibility: 'greetings', files: [{ path: 'a.txt', purpose: 'x', dependencies: [] }] }] };
    engine.on('workflows.list', () => [wf({ state: 'awaiting_approval', plan })]).on('workflows.get', () => wf({ state: 'awaiting_approval', plan }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    expect((await screen.findByRole('note')).textContent).toContain('Approving also runs the plan\'s check cargo test on this computer, in the sandbox');
    const editor = screen.getByRole('textbox', { name: 'Plan' }) as HTMLTextAreaElement;
    fireEvent.change(editor, { target: { value: editor.value.replace('"verify": "cargo test",', '') } });
    await waitFor(() => expect(screen.queryByRole('note')).toBeNull());
  });

  it('reviews the plan as modules and files: leaving out a file or the check changes what is approved', async () => {
    const plan = {
      summary: 'Greeting',
      verify: 'cargo test',
      modules: [
        { name: 'greet', responsibility: 'greetings', files: [{ path: 'a.txt', purpose: 'says hi', dependencies: [] }, { path: 'b.txt', purpose: 'says bye', dependencies: [] }] },
        { name: 'docs', responsibility: 'docs', files: [{ path: 'README.md', purpose: 'explains', dependencies: [] }] },
      ],
    };
    engine
      .on('workflows.list', () => [wf({ state: 'awaiting_approval', plan })])
      .on('workflows.get', () => wf({ state: 'awaiting_approval', plan }))
      .on('workflows.approve_plan', () => wf({ state: 'running', plan }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    const greet = await screen.findByRole('region', { name: 'Module greet' });
    expect(greet.textContent).toContain('a.txt says hi');
    fireEvent.click(screen.getByRole('button', { name: 'Leave out b.txt' }));
    fireEvent.click(screen.getByRole('button', { name: 'Leave out README.md' }));
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Module docs' })).toBeNull());
    fireEvent.click(screen.getByRole('button', { name: "Don't run it" }));
    await waitFor(() => expect(screen.queryByRole('note')).toBeNull());
    fireEvent.click(screen.getByRole('button', { name: 'Approve plan' }));
    await waitFor(() => expect(engine.callsOf('workflows.approve_plan')).toHaveLength(1));
    const sent = engine.callsOf('workflows.approve_plan')[0].plan as typeof plan;
    expect(sent.verify).toBeNull();
    expect(sent.modules.map((m) => [m.name, m.files.map((f) => f.path)])).toEqual([['greet', ['a.txt']]]);
  });

  it('lets a person edit the plan before approving it', async () => {
    const plan = { summary: 'Greeting', modules: [{ name: 'greet', responsibility: 'greetings', files: [{ path: 'a.txt', purpose: 'x', dependencies: [] }] }] };
    engine
      .on('workflows.list', () => [wf({ state: 'awaiting_approval', plan })])
      .on('workflows.get', () => wf({ state: 'awaiting_approval', plan }))
      .on('workflows.approve_plan', () => wf({ state: 'running', plan }));
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    const editor = (await screen.findByRole('textbox', { name: 'Plan' })) as HTMLTextAreaElement;
    fireEvent.change(editor, { target: { value: editor.value.replace('a.txt', 'b.txt') } });
    fireEvent.click(screen.getByRole('button', { name: 'Approve plan' }));
    await waitFor(() => expect(engine.callsOf('workflows.approve_plan')).toHaveLength(1));
    const sent = engine.callsOf('workflows.approve_plan')[0].plan as typeof plan;
    expect(sent.modules[0].files[0].path).toBe('b.txt');
  });
});

describe('GitPanel', () => {
  it('stages, commits with the message, and refreshes on the result', async () => {
    let staged = false;
    engine
      .on('git.status', () => ({ branch: 'main', entries: [{ path: 'NOTES.md', index: staged ? 'A' : '?', worktree: staged ? '.' : '?' }] }))
      .on('git.branches', () => [{ name: 'main', current: true }])
      .on('git.log', () => [])
      .on('git.stage', () => {
        staged = true;
        return {};
      })
      .on('git.commit', () => ({ commit: '0123456789abcdef' }));
    render(<GitPanel projectId="prj_1" changed={0} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Stage NOTES.md' }));
    // Status, branches and history come in one batch.
    expect(engine.batches[0]).toEqual(['git.status', 'git.branches', 'git.log']);
    await screen.findByRole('button', { name: 'Unstage NOTES.md' });
    expect(engine.callsOf('git.stage')).toEqual([{ project_id: 'prj_1', paths: ['NOTES.md'] }]);
    fireEvent.change(screen.getByRole('textbox', { name: 'Commit message' }), { target: { value: 'Add notes' } });
    fireEvent.click(screen.getByRole('button', { name: 'Commit' }));
    expect((await screen.findByRole('status')).textContent).toContain('Committed 01234567');
    expect(engine.callsOf('git.commit')).toEqual([{ project_id: 'prj_1', message: 'Add notes' }]);
  });

  it('discards a file’s changes only when the question is answered yes, and says how to undo it', async () => {
    let discarded = false;
    engine
      .on('git.status', () => ({ branch: 'main', entries: discarded ? [] : [{ path: 'src/a.rs', index: '.', worktree: 'M' }] }))
      .on('git.branches', () => [{ name: 'main', current: true }])
      .on('git.log', () => [])
      .on('git.discard', () => {
        discarded = true;
        return { undo: { id: 'c1', label: 'Before discarding changes to src/a.rs', time: '2026-11-23T00:00:00Z', paths: ['src/a.rs'] } };
      });
    const answers = ['Cancel', 'Ok'];
    engine.command('plugin:dialog|message', () => answers.shift());
    render(<GitPanel projectId="prj_1" changed={0} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Discard changes to src/a.rs' }));
    await waitFor(() => expect(engine.invokesOf('plugin:dialog|message')).toHaveLength(1));
    expect(engine.invokesOf('plugin:dialog|message')[0]).toMatchObject({ title: 'Discard changes' });
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.callsOf('git.discard')).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Discard changes to src/a.rs' }));
    await waitFor(() => expect(engine.callsOf('git.discard')).toEqual([{ project_id: 'prj_1', paths: ['src/a.rs'] }]));
    expect((await screen.findByRole('status')).textContent).toContain('Checkpoints → “Before discarding changes to src/a.rs” brings them back');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Discard changes to src/a.rs' })).toBeNull());
  });
});

describe('Checkpoints', () => {
  it('restores a checkpoint and undoes the restore', async () => {
    const cp = { id: 'cp_1', label: 'Before: Add a greeting', time: '2026-11-23T00:00:00.000Z', paths: ['a.txt'] };
    const undo = { id: 'cp_2', label: 'Before restoring', time: '2026-11-23T00:01:00.000Z', paths: ['a.txt'] };
    engine.on('checkpoints.list', () => [cp]).on('checkpoints.restore', (p) => ({ undo: p.id === 'cp_1' ? undo : cp }));
    render(<Checkpoints projectId="prj_1" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Restore Before: Add a greeting' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Undo restore' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore').map((c) => c.id)).toEqual(['cp_1', 'cp_2']));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Undo restore' })).toBeNull());
  });
});

describe('Monitor', () => {
  it('shows system, coordinator and per-agent metrics pushed by the engine', async () => {
    engine.on('agents.list', () => [agent('a1', 'coder', null, 'error', { message_count: 4, error_count: 3, error_rate: 0.75, avg_execution_ms: 120 })]);
    render(<Monitor />);
    await waitFor(() => expect(engine.topics.has('system') && engine.topics.has('coordinator')).toBe(true));
    act(() => {
      engine.emit('system', 'system.metrics', { cpu_percent: 12.4, memory_used_bytes: 2 ** 30, memory_total_bytes: 2 ** 33, active_workflows: 1, active_agents: 2, connected_clients: 1, uptime_s: 30 });
      engine.emit('coordinator', 'coordinator.metrics', { total_messages: 4, total_workflows: 1, registered_agents: 1, healthy_agents: 0, active_workflows: 1 });
    });
    expect(await screen.findByText(/CPU 12% · memory 1024 MiB of 8192 MiB/)).toBeTruthy();
    expect(screen.getByText(/0 of 1 agents healthy/)).toBeTruthy();
    const row = (await screen.findByText('coder coder-a1')).closest('tr');
    expect(row?.textContent).toContain('failing');
    expect(row?.textContent).toContain('3 (75%)');
  });

  it('grades agent health', () => {
    expect(agentHealth('busy', 0)).toBe('healthy');
    expect(agentHealth('busy', 0.2)).toBe('degraded');
    expect(agentHealth('error', 0)).toBe('failing');
  });
});

describe('links in replies in the desktop app', () => {
  it('open http(s) links in the system browser, never in the app’s window', async () => {
    engine.command('plugin:opener|open_url', () => null);
    render(<MessageView message={msg('m1', 'assistant', 'See [the docs](https://example.com/docs) or [this](other/page).')} />);
    const link = screen.getByRole('link', { name: 'the docs' });
    expect(link.getAttribute('target')).toBeNull();
    // fireEvent returns false when the default (navigating) was prevented.
    expect(fireEvent.click(link)).toBe(false);
    await waitFor(() => expect(engine.invokesOf('plugin:opener|open_url')).toEqual([expect.objectContaining({ url: 'https://example.com/docs' })]));
    expect(fireEvent.click(screen.getByRole('link', { name: 'this' }))).toBe(false);
    expect(engine.invokesOf('plugin:opener|open_url')).toHaveLength(1);
  });
});

describe('Terminals', () => {
  const scrollback = { data_b64: btoa('$ '), offset: 2 };
  beforeEach(() => {
    vi.stubGlobal('ResizeObserver', class { observe() {} disconnect() {} });
  });
  afterEach(() => {
    window.sessionStorage.clear();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('merges the server’s list with what the tab knew: keeps the order, adds the unknown, drops the gone', () => {
    const tab = (id: string) => ({ id, exited: undefined });
    expect(mergeListed([tab('b'), tab('gone'), tab('a')], ['a', 'b', 'c'])).toEqual([tab('b'), tab('a'), tab('c')]);
    // A terminal opened here after the list was asked for is kept.
    expect(mergeListed([tab('a'), tab('new')], ['a'], new Set(['new']))).toEqual([tab('a'), tab('new')]);
  });

  it('reattaches every terminal the server lists, including those opened elsewhere, and forgets the ones it no longer has', async () => {
    window.sessionStorage.setItem('atelier.terminals.prj_1', JSON.stringify(['term_a', 'term_gone']));
    let listed = [
      { terminal_id: 'term_a', cols: 100, rows: 20 },
      { terminal_id: 'term_b', cols: 80, rows: 24 },
    ];
    engine
      .on('terminals.list', () => listed)
      .on('terminals.scrollback', (p) => {
        if (!listed.some((t) => t.terminal_id === p.terminal_id)) throw new EngineError(`terminal ${String(p.terminal_id)} not found`, -32001, 'not_found');
        return scrollback;
      })
      .on('terminals.resize', () => ({}));
    const { unmount } = render(<Terminals projectId="prj_1" />);
    await waitFor(() => expect(screen.getAllByRole('tab')).toHaveLength(2));
    expect(engine.callsOf('terminals.list')).toEqual([{ project_id: 'prj_1' }]);
    await waitFor(() => expect(engine.callsOf('terminals.scrollback').map((p) => p.terminal_id)).toEqual(expect.arrayContaining(['term_a', 'term_b'])));
    await waitFor(() => expect(savedTerminals('prj_1')).toEqual(['term_a', 'term_b']));
    await waitFor(() => expect(engine.topics).toEqual(new Set(['terminal/term_a', 'terminal/term_b'])));
    unmount();

    // Another window opened a third shell: it appears when the panel is shown again.
    listed = [...listed, { terminal_id: 'term_c', cols: 80, rows: 24 }];
    render(<Terminals projectId="prj_1" />);
    await waitFor(() => expect(screen.getAllByRole('tab')).toHaveLength(3));
    expect(screen.getAllByRole('tab').map((t) => t.textContent)).toEqual(['Terminal 1', 'Terminal 2', 'Terminal 3']);
    await waitFor(() => expect(savedTerminals('prj_1')).toEqual(['term_a', 'term_b', 'term_c']));
    await waitFor(() => expect(engine.callsOf('terminals.scrollback').filter((p) => p.terminal_id === 'term_c')).toHaveLength(1));
  });

  it('keeps what the tab knew when the server cannot list terminals', async () => {
    window.sessionStorage.setItem('atelier.terminals.prj_1', JSON.stringify(['term_a']));
    engine.on('terminals.scrollback', () => scrollback).on('terminals.resize', () => ({}));
    render(<Terminals projectId="prj_1" />);
    await waitFor(() => expect(engine.callsOf('terminals.scrollback')).toHaveLength(1));
    expect(screen.getAllByRole('tab')).toHaveLength(1);
    expect(savedTerminals('prj_1')).toEqual(['term_a']);
  });
});

describe('terminal output after reattaching', () => {
  it('keeps batches from the scrollback’s end on, drops those inside it, and trims overlaps', async () => {
    const { unseen } = await import('./Terminals');
    const bytes = new TextEncoder().encode('abcdef');
    expect(unseen(bytes, 10, 10)).toBe(bytes); // starts where the scrollback ends: all new
    expect(unseen(bytes, 12, 10)).toBe(bytes);
    expect(unseen(bytes, 4, 10)).toBeNull(); // ends at the scrollback's end: already shown
    expect(new TextDecoder().decode(unseen(bytes, 7, 10) ?? new Uint8Array())).toBe('def');
  });
});

describe('PlainText', () => {
  it('renders a long reply in blocks that add up to the text, cut after a newline or a space', async () => {
    const { PlainText } = await import('./Chat');
    const words = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(' ');
    const lines = 'line\n'.repeat(3000);
    const solid = 'x'.repeat(8191) + '😀' + 'y'.repeat(9000);
    for (const text of [words, lines, solid]) {
      const { container, unmount } = render(<PlainText text={text} />);
      const blocks = [...container.querySelectorAll('.plain > div')].map((s) => s.textContent ?? '');
      expect(blocks.join('')).toBe(text);
      expect(blocks.length).toBeGreaterThan(1);
      for (const b of blocks.slice(0, -1)) {
        if (text === words) expect(b.endsWith(' ')).toBe(true);
        if (text === lines) expect(b.endsWith('\n')).toBe(true);
      }
      if (text === solid) expect(blocks[0].endsWith('😀')).toBe(true);
      unmount();
    }
  });

  it('keeps the blocks it already cut as the text grows', async () => {
    const { PlainText } = await import('./Chat');
    const text = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    const { container, rerender } = render(<PlainText text={text.slice(0, 20000)} />);
    const before = [...container.querySelectorAll('.plain > div')].map((s) => s.textContent);
    rerender(<PlainText text={text} />);
    const after = [...container.querySelectorAll('.plain > div')].map((s) => s.textContent);
    expect(after.slice(0, before.length - 1)).toEqual(before.slice(0, -1));
  });
});

describe('Settings', () => {
  it('lists models, pulls one with a progress bar that can be cancelled, and deletes one', async () => {
    const { Settings } = await import('./Settings');
    engine
      .on('models.list', () => [{ name: 'qwen2.5-coder:7b', provider: 'ollama', size: 4.7e9, context_length: 32768, family: 'qwen2', quantization: 'Q4_K_M' }])
      .on('system.health', () => ({ status: 'ok', checks: [{ name: 'database', status: 'ok' }], version: '0.1.0' }))
      .on('settings.get', () => ({ default_model: null, resume_workflows: null, 'model.master': null, 'model.manager': null, 'model.coder': null }))
      .on('models.pull', () => ({}))
      .on('models.pull_cancel', () => ({}))
      .on('models.delete', () => ({}));
    render(<Settings />);
    const row = (await screen.findByText('qwen2.5-coder:7b', { selector: 'td' })).closest('tr');
    expect(row?.textContent).toContain('ollama');
    expect(row?.textContent).toContain('4.7 GB');

    fireEvent.change(screen.getByRole('textbox', { name: 'Model to pull' }), { target: { value: 'llama3.2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Pull' }));
    await waitFor(() => expect(engine.callsOf('models.pull')).toEqual([{ name: 'llama3.2' }]));
    await waitFor(() => expect(engine.topics.has('models')).toBe(true));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'llama3.2', status: 'pulling abc123', completed: 250, total: 1000 }));
    expect(((await screen.findByRole('progressbar', { name: 'Download of llama3.2' })) as HTMLProgressElement).value).toBe(250);
    expect(screen.getByText(/25%/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel download of llama3.2' }));
    await waitFor(() => expect(engine.callsOf('models.pull_cancel')).toEqual([{ name: 'llama3.2' }]));
    act(() => engine.emit('models', 'model.pull_progress', { name: 'llama3.2', status: 'cancelled' }));
    await waitFor(() => expect(screen.queryByRole('progressbar', { name: 'Download of llama3.2' })).toBeNull());

    // The question is the native dialog's, and its answer is waited for.
    let answer = 'Cancel';
    engine.command('plugin:dialog|message', () => answer);
    fireEvent.click(screen.getByRole('button', { name: 'Delete qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.invokesOf('plugin:dialog|message')).toHaveLength(1));
    expect(engine.invokesOf('plugin:dialog|message')[0]).toMatchObject({ message: 'Delete qwen2.5-coder:7b?', buttons: 'OkCancel' });
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.callsOf('models.delete')).toEqual([]);
    answer = 'Ok';
    fireEvent.click(screen.getByRole('button', { name: 'Delete qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.callsOf('models.delete')).toEqual([{ name: 'qwen2.5-coder:7b' }]));
  });
});

describe('Settings: the sandbox', () => {
  const status = (setting: string, patch: Record<string, unknown> = {}) => ({
    setting,
    mode: setting === 'off' ? 'none' : 'bubblewrap',
    status: setting === 'off' ? 'degraded' : 'ok',
    summary: setting === 'off' ? 'the sandbox is off (your choice): commands agents run have your full rights' : 'commands agents run are confined by bubblewrap; no network',
    advice: setting === 'off' ? 'Set the sandbox to `auto` in Settings → Sandbox to confine them again' : null,
    error: null,
    memory: 'the memory limit applies to each process',
    network: false,
    allow_read: ['/home/me/.cargo', '/home/me/.npm'],
    memory_mb: null,
    ...patch,
  });

  it('names the sandbox in force, asks before turning it off, and a bar stays until it is back on', async () => {
    const { Settings } = await import('./Settings');
    let setting = 'auto';
    engine
      .on('models.list', () => [])
      .on('system.health', () => ({ status: 'ok', checks: [], version: '0' }))
      .on('settings.get', () => ({ default_model: null }))
      .on('sandbox.status', () => status(setting))
      .on('settings.set', (p) => {
        if (p.key === 'sandbox') setting = (p.value as string | null) ?? 'auto';
        return {};
      });
    render(
      <>
        <SandboxOffBar />
        <Settings />
      </>,
    );
    await waitFor(() => expect(screen.getByLabelText('Sandbox in force').textContent).toContain('bubblewrap'));
    expect(screen.getByLabelText('Sandbox in force').textContent).toContain('no network');
    expect(screen.queryByRole('alert', { name: 'Sandbox off' })).toBeNull();

    let answer = 'Cancel';
    engine.command('plugin:dialog|message', () => answer);
    fireEvent.change(screen.getByRole('combobox', { name: 'Sandbox' }), { target: { value: 'off' } });
    await waitFor(() => expect(engine.invokesOf('plugin:dialog|message')).toHaveLength(1));
    expect(engine.invokesOf('plugin:dialog|message')[0].message).toContain('full rights');
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.callsOf('settings.set')).toEqual([]);
    expect(screen.queryByRole('alert', { name: 'Sandbox off' })).toBeNull();

    answer = 'Ok';
    fireEvent.change(screen.getByRole('combobox', { name: 'Sandbox' }), { target: { value: 'off' } });
    await waitFor(() => expect(engine.callsOf('settings.set')).toEqual([{ key: 'sandbox', value: 'off' }]));
    const bar = await screen.findByRole('alert', { name: 'Sandbox off' });
    expect(bar.textContent).toContain('full rights');
    expect(screen.getByLabelText('Sandbox in force').textContent).toContain('none');

    fireEvent.click(within(bar).getByRole('button', { name: 'Turn it back on' }));
    await waitFor(() => expect(engine.callsOf('settings.set').at(-1)).toEqual({ key: 'sandbox', value: null }));
    await waitFor(() => expect(screen.queryByRole('alert', { name: 'Sandbox off' })).toBeNull());
    expect(screen.getByLabelText('Sandbox in force').textContent).toContain('bubblewrap');
  });

  it('switches the network on and saves the allowed folders one per line', async () => {
    const { Settings } = await import('./Settings');
    let current = status('auto');
    engine
      .on('models.list', () => [])
      .on('system.health', () => ({ status: 'ok', checks: [], version: '0' }))
      .on('settings.get', () => ({ default_model: null }))
      .on('sandbox.status', () => current)
      .on('settings.set', (p) => {
        if (p.key === 'sandbox.network') current = { ...current, network: p.value === 'true' };
        if (p.key === 'sandbox.allow_read') current = { ...current, allow_read: String(p.value).split('\n') };
        return {};
      });
    render(<Settings />);
    const folders = (await screen.findByRole('textbox', { name: 'Allowed folders' })) as HTMLTextAreaElement;
    await waitFor(() => expect(folders.value).toBe('/home/me/.cargo\n/home/me/.npm'));
    fireEvent.click(screen.getByRole('checkbox', { name: "Network for agents' commands" }));
    await waitFor(() => expect(engine.callsOf('settings.set')).toEqual([{ key: 'sandbox.network', value: 'true' }]));
    await waitFor(() => expect((screen.getByRole('checkbox', { name: "Network for agents' commands" }) as HTMLInputElement).checked).toBe(true));
    fireEvent.change(folders, { target: { value: '/home/me/.cargo\n/opt/sdk' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save folders' }));
    await waitFor(() => expect(engine.callsOf('settings.set').at(-1)).toEqual({ key: 'sandbox.allow_read', value: '/home/me/.cargo\n/opt/sdk' }));
    await waitFor(() => expect(folders.value).toBe('/home/me/.cargo\n/opt/sdk'));
  });
});

describe('Settings: API keys and start-up', () => {
  it('stores a key without showing it again, says which source wins, and removes a stored key after asking', async () => {
    const { Settings } = await import('./Settings');
    let keys = { openai: { key_stored: false, env_set: false }, anthropic: { key_stored: false, env_set: true }, gemini: { key_stored: true, env_set: false }, deepseek: { key_stored: false, env_set: false } };
    const settings = () => ({ default_model: null, resume_workflows: null, api_keys: keys });
    engine
      .on('models.list', () => [])
      .on('system.health', () => ({ status: 'ok', checks: [], version: '0' }))
      .on('settings.get', settings)
      .on('settings.set', () => settings())
      .on('settings.set_key', (p) => {
        if (p.provider === 'deepseek') throw new EngineError('an API key has no spaces', -32602, 'invalid_input');
        keys = { ...keys, openai: { key_stored: true, env_set: false } };
        return settings();
      })
      .on('settings.delete_key', () => {
        keys = { ...keys, gemini: { key_stored: false, env_set: false } };
        return settings();
      });
    render(<Settings />);
    await waitFor(() => expect(screen.getByLabelText('Anthropic key').textContent).toBe('from ANTHROPIC_API_KEY'));
    expect(screen.getByLabelText('Gemini key').textContent).toBe('stored in the keychain');
    expect(screen.getByLabelText('OpenAI key').textContent).toBe('none');

    const box = screen.getByLabelText('New OpenAI key') as HTMLInputElement;
    expect(box.type).toBe('password');
    expect((screen.getByRole('button', { name: 'Store the OpenAI key' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(box, { target: { value: ' sk-test-123 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Store the OpenAI key' }));
    await waitFor(() => expect(engine.callsOf('settings.set_key')).toEqual([{ provider: 'openai', key: 'sk-test-123' }]));
    expect((await screen.findByText('The OpenAI key is stored in the keychain; Atelier uses it from its next start.')).getAttribute('role')).toBe('status');
    await waitFor(() => expect(screen.getByLabelText('OpenAI key').textContent).toBe('stored in the keychain'));
    expect(box.value).toBe('');
    expect(document.body.textContent).not.toContain('sk-test-123');

    fireEvent.change(screen.getByLabelText('New DeepSeek key'), { target: { value: 'bad key' } });
    fireEvent.keyDown(screen.getByLabelText('New DeepSeek key'), { key: 'Enter' });
    expect((await screen.findByText('an API key has no spaces')).getAttribute('role')).toBe('alert');
    expect((screen.getByLabelText('New DeepSeek key') as HTMLInputElement).value).toBe('bad key');

    let answer = 'Cancel';
    engine.command('plugin:dialog|message', () => answer);
    fireEvent.click(screen.getByRole('button', { name: 'Remove the Gemini key' }));
    await waitFor(() => expect(engine.invokesOf('plugin:dialog|message')).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.callsOf('settings.delete_key')).toEqual([]);
    answer = 'Ok';
    fireEvent.click(screen.getByRole('button', { name: 'Remove the Gemini key' }));
    await waitFor(() => expect(engine.callsOf('settings.delete_key')).toEqual([{ provider: 'gemini' }]));
    await waitFor(() => expect(screen.getByLabelText('Gemini key').textContent).toBe('none'));
    expect(screen.queryByRole('button', { name: 'Remove the Gemini key' })).toBeNull();

    fireEvent.change(screen.getByRole('combobox', { name: 'Unfinished workflows when Atelier starts' }), { target: { value: 'paused' } });
    await waitFor(() => expect(engine.callsOf('settings.set')).toEqual([{ key: 'resume_workflows', value: 'paused' }]));
  });
});

describe('unsaved edits (desktop)', () => {
  afterEach(() => useUnsaved.setState({ paths: [] }));

  it('lets the window close at once when nothing is unsaved', async () => {
    expect(await mayDiscardUnsaved('Close Atelier')).toBe(true);
    expect(engine.invokesOf('plugin:dialog|message')).toEqual([]);
  });

  it('names the unsaved files and waits for the answer', async () => {
    const answers = ['Cancel', 'Ok'];
    engine.command('plugin:dialog|message', () => answers.shift());
    useUnsaved.setState({ paths: ['src/a.txt', 'b.txt', 'lib/c.rs', 'd.md'] });
    expect(await mayDiscardUnsaved('Close Atelier')).toBe(false);
    expect(engine.invokesOf('plugin:dialog|message')[0]).toMatchObject({
      title: 'Unsaved changes',
      message: 'Your changes to a.txt, b.txt and 2 more files are not saved and will be lost. Close Atelier anyway?',
    });
    expect(await mayDiscardUnsaved('Close Atelier')).toBe(true);
    expect(namePaths(['x/one.txt'])).toBe('one.txt');
    expect(namePaths(['one.txt', 'two.txt'])).toBe('one.txt and two.txt');
    expect(namePaths(['1', '2', '3'])).toBe('1, 2 and 1 more file');
  });

  it('keeps the shell told what to ask before the window closes', async () => {
    engine.command('set_close_question', () => null);
    const told = () => engine.invokesOf('set_close_question').map((a) => a.question);
    const stop = tellShellBeforeClose();
    await waitFor(() => expect(told()).toEqual([null]));
    useUnsaved.setState({ paths: ['src/a.txt'] });
    useUnsaved.setState({ paths: ['src/a.txt'] });
    await waitFor(() => expect(told()).toEqual([null, 'Your changes to a.txt are not saved and will be lost. Close Atelier anyway?']));
    useUnsaved.setState({ paths: [] });
    await waitFor(() => expect(told()).toHaveLength(3));
    expect(told()[2]).toBeNull();
    stop();
    useUnsaved.setState({ paths: ['b.txt'] });
    await new Promise((r) => setTimeout(r, 20));
    expect(told()).toHaveLength(3);
  });
});

describe('the embedded server (desktop)', () => {
  const stopped: ServerStatus = { running: false, address: null, link: null, token: 'tok_123', port: 7777, public: false, reachable_at: [], error: null };
  /** A fake `server_set`: the server runs as asked, on every interface when public. */
  const serve = () =>
    engine.command('server_set', (a) => {
      const port = a.port as number;
      const running = a.enabled as boolean;
      const host = a.public ? '0.0.0.0' : '127.0.0.1';
      const reachable_at = running && a.public ? [`http://192.168.1.20:${port}`] : [];
      return { ...stopped, running, port, public: a.public, reachable_at, address: running ? `http://${host}:${port}` : null, link: running ? `http://127.0.0.1:${port}/#token=tok_123` : null };
    });
  const settingsEngine = (status: ServerStatus) => {
    engine
      .on('models.list', () => [])
      .on('system.health', () => ({ status: 'ok', checks: [], version: '0' }))
      .on('settings.get', () => ({ default_model: null, resume_workflows: null, 'server.enabled': 'true', 'server.port': '7777', 'server.public': 'false' }))
      .command('server_status', () => status);
    serve();
  };
  beforeEach(() => useServer.setState({ status: null, failure: null, busy: false }));
  afterEach(() => vi.restoreAllMocks());

  it('starts and stops the server, changes its port, and shows the address, token and link', async () => {
    settingsEngine(stopped);
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
    render(<Settings />);
    // The browser's "This server" section and the generic form's server.* keys are not shown.
    expect(screen.queryByRole('heading', { name: 'This server' })).toBeNull();
    const toggle = (await screen.findByRole('checkbox', { name: 'Embedded server' })) as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    fireEvent.click(toggle);
    await waitFor(() => expect(engine.invokesOf('server_set')).toEqual([{ enabled: true, port: 7777, public: false }]));
    await waitFor(() => expect(toggle.checked).toBe(true));
    expect(screen.getByText('http://127.0.0.1:7777')).toBeTruthy();
    expect(screen.getByLabelText('Access token').textContent).toBe('tok_123');
    fireEvent.click(screen.getByRole('button', { name: 'Copy link' }));
    expect(writeText).toHaveBeenCalledWith('http://127.0.0.1:7777/#token=tok_123');

    const port = screen.getByRole('spinbutton', { name: 'Port' });
    fireEvent.change(port, { target: { value: '8080' } });
    fireEvent.keyDown(port, { key: 'Enter' });
    await waitFor(() => expect(engine.invokesOf('server_set')[1]).toEqual({ enabled: true, port: 8080, public: false }));
    await waitFor(() => expect(screen.getByText('http://127.0.0.1:8080')).toBeTruthy());
    fireEvent.blur(port);
    expect(engine.invokesOf('server_set')).toHaveLength(2);

    fireEvent.click(toggle);
    await waitFor(() => expect(engine.invokesOf('server_set')[2]).toEqual({ enabled: false, port: 8080, public: false }));
    await waitFor(() => expect(toggle.checked).toBe(false));
  });

  it('asks before making the server reachable from other machines, and does nothing when declined', async () => {
    settingsEngine({ ...stopped, running: true, address: 'http://127.0.0.1:7777', link: 'http://127.0.0.1:7777/#token=tok_123' });
    const answers = ['Cancel', 'Ok'];
    engine.command('plugin:dialog|message', () => answers.shift());
    const asked = () => engine.invokesOf('plugin:dialog|message').map((a) => a.message);
    render(<Settings />);
    const reachable = (await screen.findByRole('checkbox', { name: 'Reachable from other machines' })) as HTMLInputElement;
    fireEvent.click(reachable);
    await waitFor(() => expect(asked()).toEqual([PUBLIC_WARNING]));
    expect(PUBLIC_WARNING).toMatch(/network/);
    expect(PUBLIC_WARNING).toMatch(/terminals/);
    // The answer (Cancel) is waited for: nothing changes.
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.invokesOf('server_set')).toEqual([]);
    expect(reachable.checked).toBe(false);

    fireEvent.click(reachable);
    await waitFor(() => expect(engine.invokesOf('server_set')).toEqual([{ enabled: true, port: 7777, public: true }]));
    await waitFor(() => expect(reachable.checked).toBe(true));
    // Other machines are told this machine's address, not the bind address 0.0.0.0.
    expect(screen.getByLabelText('Addresses for other machines').textContent).toBe('From other machines: http://192.168.1.20:7777');
    // Turning it off again needs no confirmation.
    fireEvent.click(reachable);
    await waitFor(() => expect(engine.invokesOf('server_set')[1]).toEqual({ enabled: true, port: 7777, public: false }));
    expect(asked()).toHaveLength(2);
  });

  it('asks again when the server is switched on with "reachable" saved; declined, it starts on loopback', async () => {
    settingsEngine({ ...stopped, public: true });
    engine.command('plugin:dialog|message', () => 'Cancel');
    const asked = () => engine.invokesOf('plugin:dialog|message').map((a) => a.message);
    render(<Settings />);
    const toggle = (await screen.findByRole('checkbox', { name: 'Embedded server' })) as HTMLInputElement;
    fireEvent.click(toggle);
    await waitFor(() => expect(asked()).toEqual([PUBLIC_WARNING]));
    await waitFor(() => expect(engine.invokesOf('server_set')).toEqual([{ enabled: true, port: 7777, public: false }]));
    await waitFor(() => expect(toggle.checked).toBe(true));
    expect(screen.queryByLabelText('Addresses for other machines')).toBeNull();
    // Off and on again: loopback is what is saved now, so nothing to ask.
    fireEvent.click(toggle);
    await waitFor(() => expect(engine.invokesOf('server_set')[1]).toEqual({ enabled: false, port: 7777, public: false }));
    fireEvent.click(toggle);
    await waitFor(() => expect(engine.invokesOf('server_set')[2]).toEqual({ enabled: true, port: 7777, public: false }));
    expect(asked()).toHaveLength(1);
  });

  it('shows why the server could not start', async () => {
    settingsEngine(stopped);
    engine.command('server_set', () => {
      throw 'cannot listen on 0.0.0.0:7777: address in use; choose another port';
    });
    render(<Settings />);
    fireEvent.click(await screen.findByRole('checkbox', { name: 'Embedded server' }));
    expect((await screen.findByRole('alert')).textContent).toContain('choose another port');
  });

  it('warns at the top while reachable from other machines, until Stop sharing', async () => {
    engine.command('server_status', () => ({
      ...stopped,
      running: true,
      public: true,
      address: 'http://0.0.0.0:7777',
      reachable_at: ['http://10.0.0.7:7777', 'http://192.168.1.20:7777'],
      link: 'http://127.0.0.1:7777/#token=tok_123',
    }));
    serve();
    render(<SharingBar />);
    const bar = await screen.findByRole('alert');
    expect(bar.textContent).toMatch(/^Atelier is reachable from other machines at http:\/\/10\.0\.0\.7:7777 \(and 1 more address\): anyone/);
    fireEvent.click(within(bar).getByRole('button', { name: 'Stop sharing' }));
    await waitFor(() => expect(engine.invokesOf('server_set')).toEqual([{ enabled: true, port: 7777, public: false }]));
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
  });

  it('still warns when this machine’s addresses cannot be listed', async () => {
    engine.command('server_status', () => ({ ...stopped, running: true, public: true, address: 'http://0.0.0.0:7777' }));
    render(<SharingBar />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/^Atelier is reachable from other machines on port 7777 of every network interface: anyone/);
  });

  it('shows no warning while the server is loopback-only or off', async () => {
    engine.command('server_status', () => ({ ...stopped, running: true, address: 'http://127.0.0.1:7777' }));
    render(<SharingBar />);
    await waitFor(() => expect(engine.invokesOf('server_status')).toHaveLength(1));
    await waitFor(() => expect(useServer.getState().status).not.toBeNull());
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('ErrorBoundary', () => {
  it('shows a failing panel’s error in its place, and can render it again', async () => {
    const { ErrorBoundary } = await import('./ErrorBoundary');
    let fail = true;
    const Panel = () => {
      if (fail) throw new Error('boom');
      return <p>panel body</p>;
    };
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    // jsdom reports errors thrown while rendering as uncaught; they are expected here.
    const swallow = (e: ErrorEvent) => e.preventDefault();
    window.addEventListener('error', swallow);
    render(
      <>
        <ErrorBoundary name="Git">
          <Panel />
        </ErrorBoundary>
        <p>the rest of the page</p>
      </>,
    );
    expect(screen.getByRole('alert').textContent).toContain('The Git panel failed: boom');
    expect(screen.getByText('the rest of the page')).toBeTruthy();
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Show Git again' }));
    expect(screen.getByText('panel body')).toBeTruthy();
    quiet.mockRestore();
    warn.mockRestore();
    window.removeEventListener('error', swallow);
  });
});

describe('GitPanel branches', () => {
  it('creates a branch from an inline name box', async () => {
    engine
      .on('git.status', () => ({ branch: 'main', entries: [] }))
      .on('git.branches', () => [{ name: 'main', current: true }])
      .on('git.log', () => [])
      .on('git.checkout', () => ({}));
    render(<GitPanel projectId="prj_1" changed={0} />);
    fireEvent.click(await screen.findByRole('button', { name: 'New branch' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'New branch name' }), { target: { value: ' feature/x ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create branch' }));
    await waitFor(() => expect(engine.callsOf('git.checkout')).toEqual([{ project_id: 'prj_1', branch: 'feature/x', create: true }]));
    expect((await screen.findByRole('status')).textContent).toContain('On the new branch feature/x.');
  });
});

describe('FileTree', () => {
  const big = (): FileEntry[] => [
    { path: 'src', kind: 'dir', size: 0 },
    { path: 'src/main.rs', kind: 'file', size: 1 },
    { path: 'src/deep', kind: 'dir', size: 0 },
    { path: 'src/deep/mod.rs', kind: 'file', size: 1 },
    ...Array.from({ length: OPEN_ALL_UP_TO }, (_, i) => ({ path: `vendor/f${i}.js`, kind: 'file', size: 1 })),
    { path: 'vendor', kind: 'dir', size: 0 },
    { path: 'README.md', kind: 'file', size: 1 },
  ];

  it('shows a small project whole', async () => {
    engine.on('files.tree', () => [
      { path: 'src', kind: 'dir', size: 0 },
      { path: 'src/main.rs', kind: 'file', size: 1 },
    ]);
    render(<FileTree projectId="prj_1" changed={0} onOpen={() => undefined} active={null} />);
    expect(await screen.findByRole('button', { name: 'Open file src/main.rs' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Folder src' }).getAttribute('aria-expanded')).toBe('true');
  });

  it('opens a big project folder by folder, and opens the folders of the active file', async () => {
    engine.on('files.tree', big);
    const { rerender } = render(<FileTree projectId="prj_1" changed={0} onOpen={() => undefined} active={null} />);
    const src = await screen.findByRole('button', { name: 'Folder src' });
    expect(src.getAttribute('aria-expanded')).toBe('false');
    expect(screen.getByRole('button', { name: 'Open file README.md' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Open file src/main.rs' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Open file vendor/f0.js' })).toBeNull();
    fireEvent.click(src);
    expect(await screen.findByRole('button', { name: 'Open file src/main.rs' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Open file src/deep/mod.rs' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Folder src' }));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Open file src/main.rs' })).toBeNull());
    rerender(<FileTree projectId="prj_1" changed={0} onOpen={() => undefined} active="src/deep/mod.rs" />);
    expect(await screen.findByRole('button', { name: 'Open file src/deep/mod.rs' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Open file vendor/f0.js' })).toBeNull();
  });
});

describe('QuickOpen (Ctrl+P)', () => {
  it('ranks a file whose name matches above folders that do, and opens with Enter', async () => {
    engine.on('files.tree', () => [
      { path: 'src', kind: 'dir', size: 0 },
      { path: 'src/greet', kind: 'dir', size: 0 },
      { path: 'src/greet/mod.rs', kind: 'file', size: 10 },
      { path: 'src/greeting.rs', kind: 'file', size: 10 },
      { path: 'docs/grammar.md', kind: 'file', size: 10 },
      { path: 'README.md', kind: 'file', size: 10 },
    ]);
    const onOpen = vi.fn();
    const onClose = vi.fn();
    render(<QuickOpen projectId="prj_1" onOpen={onOpen} onClose={onClose} />);
    const box = screen.getByRole('textbox', { name: 'File name' });
    fireEvent.change(box, { target: { value: 'greet' } });
    const options = async () => within(await screen.findByRole('listbox', { name: 'Matching files' })).getAllByRole('option').map((o) => o.textContent);
    await waitFor(async () => expect(await options()).toEqual(['greeting.rs src/greeting.rs', 'mod.rs src/greet/mod.rs']));
    fireEvent.keyDown(box, { key: 'ArrowDown' });
    expect(screen.getAllByRole('option')[1].getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onOpen).toHaveBeenCalledWith('src/greet/mod.rs');
    expect(onClose).toHaveBeenCalled();
  });

  it('says when nothing matches, and Escape closes', async () => {
    engine.on('files.tree', () => [{ path: 'a.txt', kind: 'file', size: 1 }]);
    const onClose = vi.fn();
    render(<QuickOpen projectId="prj_1" onOpen={() => undefined} onClose={onClose} />);
    const box = screen.getByRole('textbox', { name: 'File name' });
    fireEvent.change(box, { target: { value: 'zzz' } });
    expect(await screen.findByText('No file matches.')).toBeTruthy();
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(onClose).toHaveBeenCalled();
    expect(score('src/a.rs', 'sar')).not.toBeNull();
    expect(score('src/a.rs', 'sx')).toBeNull();
  });
});

describe('tab keys', () => {
  it('moves between tabs with the arrow keys, Home and End', async () => {
    const { onTabKeys } = await import('../tabs');
    const picked: string[] = [];
    render(
      <div role="tablist" aria-label="T" onKeyDown={onTabKeys}>
        {['A', 'B', 'C'].map((t) => (
          <button key={t} role="tab" onClick={() => picked.push(t)}>
            {t}
          </button>
        ))}
      </div>,
    );
    const a = screen.getByRole('tab', { name: 'A' });
    a.focus();
    fireEvent.keyDown(a, { key: 'ArrowRight' });
    expect(document.activeElement?.textContent).toBe('B');
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: 'End' });
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: 'ArrowRight' });
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: 'ArrowLeft' });
    expect(picked).toEqual(['B', 'C', 'A', 'C']);
  });
});

describe('Chat sessions', () => {
  it('deletes the open chat after confirmation and opens the next newest', async () => {
    const older: Session = { ...session, id: 'ses_0', title: 'Older chat' };
    let list = [session, older];
    engine
      .on('sessions.list', () => list)
      .on('messages.list', (p) => [msg(`m_${String(p.session_id)}`, 'assistant', `in ${String(p.session_id)}`)])
      .on('sessions.delete', (p) => {
        list = list.filter((s) => s.id !== p.id);
        return {};
      });
    render(<Chat project={project} />);
    expect(await screen.findByText('in ses_1')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Delete chat' }));
    fireEvent.click(screen.getByRole('button', { name: 'Keep' }));
    expect(engine.callsOf('sessions.delete')).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Delete chat' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(engine.callsOf('sessions.delete')).toEqual([{ id: 'ses_1' }]));
    expect(await screen.findByText('in ses_0')).toBeTruthy();
    expect((screen.getByRole('combobox', { name: 'Session' }) as HTMLSelectElement).value).toBe('ses_0');
  });
});
