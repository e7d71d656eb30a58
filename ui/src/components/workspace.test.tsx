// Components against a fake engine behind the real client (see src/test/engine.ts).
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { client } from '../api';
import { ProjectList } from '../App';
import { Chat } from './Chat';
import { Workflows } from './Workflows';
import { GitPanel } from './Git';
import { Checkpoints } from './Checkpoints';
import { Monitor, agentHealth } from './Monitor';
import type { Agent, Message, Project, Session, Workflow } from '../protocol/generated';

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
const session: Session = { id: 'ses_1', project_id: 'prj_1', agent: 'assistant', title: 'First chat', created_at: '2026-11-23T00:00:00.000Z', model: null };
const msg = (id: string, role: Message['role'], content: string, status: Message['status'] = 'complete', extra: Partial<Message> = {}): Message => ({
  id,
  session_id: 'ses_1',
  role,
  content,
  status,
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
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

  it('removes a project only after confirmation, keeping or deleting its folder, and links its export', async () => {
    engine.on('projects.list', () => [project]).on('projects.delete', () => ({}));
    render(<ProjectList onOpen={() => undefined} />);
    const link = await screen.findByRole('link', { name: 'Export demo' });
    expect(link.getAttribute('href')).toMatch(/^\/download\/prj_1\?token=/);
    fireEvent.click(screen.getByRole('button', { name: 'Remove demo' }));
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

describe('Chat', () => {
  const seeded = () => {
    engine
      .on('sessions.list', () => [session])
      .on('messages.list', () => [msg('m0', 'system', 'You are Atelier’s assistant.'), msg('m1', 'assistant', 'Hello! What shall we build?')])
      .on('messages.send', () => ({ user_message_id: 'm2', reply_id: 'm3' }))
      .on('messages.stop', () => ({ stopped: true }));
  };

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

  it('passes the check command and parallelism chosen in the options', async () => {
    engine.on('workflows.list', () => []).on('workflows.start', () => wf()).on('workflows.get', () => wf());
    render(<Workflows project={project} onOpenFile={() => undefined} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Add tests' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Check command' }), { target: { value: 'npm test' } });
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Coders at once' }), { target: { value: '2' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /approve the plan first/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() =>
      expect(engine.callsOf('workflows.start')).toEqual([{ project_id: 'prj_1', request: 'Add tests', options: { approve_plan: true, verify: 'npm test', max_parallel: 2 } }]),
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

    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(true);
    fireEvent.click(screen.getByRole('button', { name: 'Delete qwen2.5-coder:7b' }));
    await waitFor(() => expect(engine.callsOf('models.delete')).toEqual([{ name: 'qwen2.5-coder:7b' }]));
    confirm.mockRestore();
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
