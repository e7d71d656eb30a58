// Chats with tools, against a fake engine behind the real client (see src/test/engine.ts).
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { client } from '../api';
import { Chat } from './Chat';
import { AgentTools } from './AgentTools';
import { appendOutput, describeArguments, OUTPUT_KEEP } from './ToolCall';
import type { Message, Project, Session, ToolCallInfo } from '../protocol/generated';

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
const session: Session = { id: 'ses_1', project_id: 'prj_1', agent: 'assistant', title: 'Tools chat', created_at: '2026-11-23T00:00:00.000Z', model: null, tools: true };
const msg = (id: string, role: Message['role'], content: string, extra: Partial<Message> = {}): Message => ({
  id,
  session_id: 'ses_1',
  role,
  content,
  status: 'complete',
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
  tool_calls: [],
  ...extra,
});
const call = (id: string, name: string, args: ToolCallInfo['arguments']): ToolCallInfo => ({ id, name, arguments: args });
const TOPIC = 'session/ses_1';

/** A chat open on `ses_1` with `history`, subscribed to its events. */
async function openChat(history: Message[], s: Session = session) {
  let current = s;
  engine
    .on('sessions.list', () => [current])
    .on('messages.list', () => history)
    .on('models.list', () => [
      { name: 'qwen2.5-coder:7b', provider: 'ollama' },
      { name: 'llama3.2', provider: 'ollama' },
    ])
    .on('messages.send', () => ({ user_message_id: 'u2', reply_id: 'a9' }))
    .on('messages.stop', () => ({ stopped: true }))
    .on('tools.approve', () => ({}))
    .on('sessions.update', (p) => {
      current = { ...current, ...(p.tools !== undefined ? { tools: p.tools as boolean } : {}), ...(p.model !== undefined ? { model: (p.model as string) || null } : {}) };
      return current;
    });
  render(<Chat project={project} />);
  await waitFor(() => expect(engine.topics.has(TOPIC)).toBe(true));
}

/** The live start of a loop's step that calls `run_command` and waits for approval. */
function askToRun(id = 'call_1', command = 'echo tool-ran') {
  const c = call(id, 'run_command', { command });
  act(() => {
    engine.emit(TOPIC, 'message.created', { message: msg('u1', 'user', 'run the echo') });
    engine.emit(TOPIC, 'message.created', { message: msg('a1', 'assistant', '', { status: 'streaming' }) });
    engine.emit(TOPIC, 'message.delta', { message_id: 'a1', delta: 'Running it.' });
    engine.emit(TOPIC, 'message.completed', { message: msg('a1', 'assistant', 'Running it.', { tool_calls: [c] }) });
    engine.emit(TOPIC, 'tool.call', { message_id: 'a1', call: c, needs_approval: true, effect: 'run' });
  });
  return c;
}

describe('describeArguments', () => {
  it('shows the part a person checks, else compact JSON', () => {
    expect(describeArguments('run_command', { command: 'cargo test\n  --quiet' })).toBe('cargo test --quiet');
    expect(describeArguments('read_file', { path: 'src/lib.rs' })).toBe('src/lib.rs');
    expect(describeArguments('read_file', { path: 'src/lib.rs', start_line: 10, end_line: 20 })).toBe('src/lib.rs:10-20');
    expect(describeArguments('write_file', { path: 'a.txt', content: 'x'.repeat(5000) })).toBe('a.txt');
    expect(describeArguments('find_in_files', { pattern: 'TODO', glob: '*.rs' })).toBe('TODO in *.rs');
    expect(describeArguments('list_files', {})).toBe('.');
    // A small model's broken call still shows what it sent.
    expect(describeArguments('read_file', { file: 'a.txt' })).toBe('{"file":"a.txt"}');
    expect(describeArguments('github.search', { q: 'x'.repeat(400) })).toHaveLength(160);
  });

  it('keeps the last ~200 KB of output, cut at a line start', () => {
    const line = `${'y'.repeat(99)}\n`;
    let out = '';
    let cut = false;
    for (let i = 0; i < 3000; i++) {
      const next = appendOutput(out, line);
      out = next.text;
      cut ||= next.cut;
    }
    expect(cut).toBe(true);
    expect(out.length).toBeLessThanOrEqual(256_000);
    expect(out.length).toBeGreaterThanOrEqual(OUTPUT_KEEP - 4096);
    expect(out.startsWith('y')).toBe(true);
    expect(out.endsWith(line)).toBe(true);
  });
});

describe('Chat with tools', () => {
  it('shows each call under its message with its arguments and folds the tool message into it', async () => {
    const read = call('call_r', 'read_file', { path: 'src/secret.rs' });
    await openChat([
      msg('u1', 'user', 'What does src/secret.rs define?'),
      msg('a1', 'assistant', 'Let me look.', { tool_calls: [read] }),
      msg('t1', 'tool', 'pub fn hidden_answer() -> u32 { 42 }', { tool_call_id: 'call_r', name: 'read_file', tool_status: 'ok' }),
      msg('a2', 'assistant', 'It defines hidden_answer, which returns 42.'),
    ]);
    const view = await screen.findByRole('group', { name: 'Tool call read_file: src/secret.rs' });
    expect(view.textContent).toContain('read_file');
    expect(view.textContent).toContain('src/secret.rs');
    expect(within(view).getByText('ok')).toBeTruthy();
    // The call sits right under the message that made it, before the next reply.
    const order = [...document.querySelectorAll('.msg, .tool-call')].map((e) => e.getAttribute('aria-label'));
    expect(order).toEqual(['user message', 'assistant message', 'Tool call read_file: src/secret.rs', 'assistant message']);
    // No bubble for the tool message; its content is folded until asked for.
    expect(screen.queryByRole('article', { name: 'tool message' })).toBeNull();
    expect(screen.queryByText(/hidden_answer\(\)/)).toBeNull();
    const toggle = within(view).getByRole('button', { name: 'Show the result of read_file' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(toggle);
    expect(within(view).getByLabelText('Result of read_file').textContent).toBe('pub fn hidden_answer() -> u32 { 42 }');
    fireEvent.click(within(view).getByRole('button', { name: 'Hide the result of read_file' }));
    expect(screen.queryByText(/hidden_answer\(\)/)).toBeNull();
  });

  it('shows an error or a refusal open, with its reason', async () => {
    await openChat([
      msg('a1', 'assistant', '', { tool_calls: [call('c1', 'read_file', { path: '../../etc/passwd' }), call('c2', 'run_command', { command: 'rm -rf build' })] }),
      msg('t1', 'tool', 'the path ../../etc/passwd is outside the project', { tool_call_id: 'c1', name: 'read_file', tool_status: 'error' }),
      msg('t2', 'tool', 'The person denied this call.', { tool_call_id: 'c2', name: 'run_command', tool_status: 'denied' }),
    ]);
    const failed = await screen.findByRole('group', { name: 'Tool call read_file: ../../etc/passwd' });
    expect(within(failed).getByText('error')).toBeTruthy();
    expect(within(failed).getByLabelText('Result of read_file').textContent).toContain('outside the project');
    const denied = screen.getByRole('group', { name: 'Tool call run_command: rm -rf build' });
    expect(within(denied).getByText('denied')).toBeTruthy();
    expect(within(denied).getByLabelText('Result of run_command').textContent).toBe('The person denied this call.');
  });

  it.each([
    ['Allow', 'allow'],
    ['Deny', 'deny'],
    ['Always allow', 'allow_always'],
  ])('a call waiting for approval: %s sends tools.approve with its id, and the buttons go', async (button, decision) => {
    await openChat([]);
    askToRun('call_7');
    const view = await screen.findByRole('group', { name: 'Tool call run_command: echo tool-ran' });
    expect(within(view).getByText('waiting for approval')).toBeTruthy();
    // Between two replies nothing streams, yet the loop can be stopped and nothing else sent.
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(false);
    expect(document.querySelector('[aria-live="polite"]')?.textContent).toBe('run_command waits for your approval: Allow, Deny or Always allow.');
    const approve = within(view).getByRole('group', { name: 'Approve run_command' });
    const buttons = within(approve).getAllByRole('button');
    expect(buttons.map((b) => b.textContent)).toEqual(['Allow', 'Deny', 'Always allow']);
    // Real buttons: reachable with Tab and pressed with Enter or Space.
    expect(buttons.every((b) => b.tagName === 'BUTTON' && !(b as HTMLButtonElement).disabled)).toBe(true);
    fireEvent.click(within(approve).getByRole('button', { name: button }));
    await waitFor(() => expect(engine.callsOf('tools.approve')).toEqual([{ call_id: 'call_7', decision }]));
    await waitFor(() => expect(within(view).queryByRole('group', { name: 'Approve run_command' })).toBeNull());
    expect(within(view).getByText('running')).toBeTruthy();
  });

  it('shows a call that waited before the chat was opened (a reload) with its buttons', async () => {
    const c = call('call_9', 'run_command', { command: 'make test' });
    engine.on('tools.pending', () => [{ message_id: 'a1', call: c, needs_approval: true, effect: 'run' }]);
    await openChat([msg('u1', 'user', 'test it'), msg('a1', 'assistant', 'Testing.', { tool_calls: [c] })]);
    const view = await screen.findByRole('group', { name: 'Tool call run_command: make test' });
    await waitFor(() => expect(within(view).getByText('waiting for approval')).toBeTruthy());
    expect(engine.callsOf('tools.pending')).toEqual([{ session_id: 'ses_1' }]);
    fireEvent.click(within(view).getByRole('button', { name: 'Allow' }));
    await waitFor(() => expect(engine.callsOf('tools.approve')).toEqual([{ call_id: 'call_9', decision: 'allow' }]));
  });

  it('keeps the buttons when the answer is refused, and says why', async () => {
    await openChat([]);
    askToRun();
    engine.on('tools.approve', () => {
      throw new EngineError('no call call_1 waits for approval', -32602, 'not_found');
    });
    const view = await screen.findByRole('group', { name: /Tool call run_command/ });
    fireEvent.click(within(view).getByRole('button', { name: 'Allow' }));
    expect((await screen.findByRole('alert')).textContent).toContain('no call call_1 waits for approval');
    expect((within(view).getByRole('button', { name: 'Allow' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('ends the wait when the result comes from elsewhere (another window answered)', async () => {
    await openChat([]);
    askToRun();
    const view = await screen.findByRole('group', { name: /Tool call run_command/ });
    act(() => engine.emit(TOPIC, 'tool.result', { call_id: 'call_1', status: 'denied', content: 'The person denied this call.', message_id: 't1' }));
    await waitFor(() => expect(within(view).queryByRole('button', { name: 'Allow' })).toBeNull());
    expect(within(view).getByText('denied')).toBeTruthy();
  });

  it('streams a command’s output live, then folds the result and goes on with the next reply', async () => {
    await openChat([]);
    const c = askToRun();
    const view = await screen.findByRole('group', { name: /Tool call run_command/ });
    fireEvent.click(within(view).getByRole('button', { name: 'Allow' }));
    await waitFor(() => expect(within(view).queryByRole('button', { name: 'Allow' })).toBeNull());
    act(() => {
      engine.emit(TOPIC, 'tool.output', { call_id: 'call_1', delta: 'tool-' });
      engine.emit(TOPIC, 'tool.output', { call_id: 'call_1', delta: 'ran\n' });
    });
    await waitFor(() => expect(within(view).getByRole('log', { name: 'Output of run_command' }).textContent).toBe('tool-ran\n'));
    act(() => engine.emit(TOPIC, 'tool.output', { call_id: 'call_1', delta: 'second line\n' }));
    await waitFor(() => expect(within(view).getByRole('log', { name: 'Output of run_command' }).textContent).toBe('tool-ran\nsecond line\n'));
    expect(within(view).getByText('running')).toBeTruthy();
    act(() => {
      engine.emit(TOPIC, 'tool.result', { call_id: 'call_1', status: 'ok', content: 'exit code 0\ntool-ran\nsecond line\n', message_id: 't1' });
      engine.emit(TOPIC, 'message.created', { message: msg('t1', 'tool', 'exit code 0\ntool-ran\nsecond line\n', { tool_call_id: c.id, name: 'run_command', tool_status: 'ok' }) });
      engine.emit(TOPIC, 'message.created', { message: msg('a2', 'assistant', '', { status: 'streaming' }) });
      engine.emit(TOPIC, 'message.delta', { message_id: 'a2', delta: 'Done: the command printed tool-ran' });
    });
    expect(await screen.findByText('Done: the command printed tool-ran')).toBeTruthy();
    expect(within(view).getByText('ok')).toBeTruthy();
    expect(within(view).queryByRole('log')).toBeNull();
    expect(screen.queryByRole('article', { name: 'tool message' })).toBeNull();
    fireEvent.click(within(view).getByRole('button', { name: 'Show the result of run_command' }));
    expect(within(view).getByLabelText('Result of run_command').textContent).toContain('second line');
  });

  it('keeps only the last ~200 KB of a long output in the page', async () => {
    await openChat([]);
    askToRun();
    const view = await screen.findByRole('group', { name: /Tool call run_command/ });
    fireEvent.click(within(view).getByRole('button', { name: 'Allow' }));
    const line = (i: number) => `line ${String(i).padStart(6, '0')} ${'z'.repeat(88)}\n`;
    act(() => {
      for (let i = 0; i < 4000; i++) engine.emit(TOPIC, 'tool.output', { call_id: 'call_1', delta: line(i) });
    });
    const log = await within(view).findByRole('log', { name: 'Output of run_command' });
    // (Booleans: a failure message with 200 KB of output would be unreadable.)
    await waitFor(() => expect(log.textContent?.endsWith(line(3999))).toBe(true));
    expect(log.textContent?.includes('earlier output cut')).toBe(true);
    expect(log.textContent?.includes(line(0))).toBe(false);
    expect(log.textContent?.length).toBeLessThan(260_000);
    expect(log.textContent?.length).toBeGreaterThan(OUTPUT_KEEP - 4096);
  });

  it('Stop ends a loop that waits for approval: messages.stop, and the buttons go', async () => {
    await openChat([]);
    askToRun();
    const view = await screen.findByRole('group', { name: /Tool call run_command/ });
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await waitFor(() => expect(engine.callsOf('messages.stop')).toEqual([{ session_id: 'ses_1' }]));
    await waitFor(() => expect(within(view).queryByRole('button', { name: 'Allow' })).toBeNull());
    expect(within(view).getByText('stopped')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('a call announced before its message completes shows under that message', async () => {
    await openChat([]);
    act(() => {
      engine.emit(TOPIC, 'message.created', { message: msg('a1', 'assistant', '', { status: 'streaming' }) });
      engine.emit(TOPIC, 'tool.call', { message_id: 'a1', call: call('c9', 'list_files', {}), needs_approval: false, effect: 'read' });
    });
    const view = await screen.findByRole('group', { name: 'Tool call list_files: .' });
    expect(within(view).getByText('running')).toBeTruthy();
    expect(view.closest('[data-index]')?.querySelector('article')?.getAttribute('aria-label')).toBe('assistant message');
  });

  it('the Tools switch and the model picker change the chat with sessions.update', async () => {
    await openChat([], { ...session, tools: false });
    const tools = screen.getByRole('switch', { name: 'Tools' }) as HTMLInputElement;
    await waitFor(() => expect(tools.disabled).toBe(false));
    expect(tools.checked).toBe(false);
    fireEvent.click(tools);
    await waitFor(() => expect(engine.callsOf('sessions.update')).toEqual([{ id: 'ses_1', tools: true }]));
    await waitFor(() => expect(tools.checked).toBe(true));

    const model = screen.getByRole('combobox', { name: 'Model' }) as HTMLSelectElement;
    await screen.findByRole('option', { name: 'llama3.2' });
    expect(model.value).toBe('');
    fireEvent.change(model, { target: { value: 'llama3.2' } });
    await waitFor(() => expect(engine.callsOf('sessions.update').at(-1)).toEqual({ id: 'ses_1', model: 'llama3.2' }));
    await waitFor(() => expect(model.value).toBe('llama3.2'));
    fireEvent.change(model, { target: { value: '' } });
    await waitFor(() => expect(engine.callsOf('sessions.update').at(-1)).toEqual({ id: 'ses_1', model: '' }));
    await waitFor(() => expect(model.value).toBe(''));
  });

  it('shows the switch’s new state at once, and puts it back with the reason when refused', async () => {
    await openChat([], { ...session, tools: false });
    let refuse: (e: Error) => void = () => undefined;
    engine.on('sessions.update', () => new Promise((_, reject) => (refuse = reject)));
    const tools = screen.getByRole('switch', { name: 'Tools' }) as HTMLInputElement;
    await waitFor(() => expect(tools.disabled).toBe(false));
    fireEvent.click(tools);
    expect(tools.checked).toBe(true);
    await waitFor(() => expect(engine.callsOf('sessions.update')).toHaveLength(1));
    act(() => refuse(new EngineError('no session ses_1', -32602, 'not_found')));
    expect((await screen.findByRole('alert')).textContent).toContain('no session ses_1');
    await waitFor(() => expect(tools.checked).toBe(false));
  });

  it('follows session.updated from elsewhere', async () => {
    await openChat([], { ...session, tools: false });
    const tools = screen.getByRole('switch', { name: 'Tools' }) as HTMLInputElement;
    act(() => engine.emit(TOPIC, 'session.updated', { session: { ...session, tools: true, model: 'qwen2.5-coder:7b' } }));
    await waitFor(() => expect(tools.checked).toBe(true));
    expect((screen.getByRole('combobox', { name: 'Model' }) as HTMLSelectElement).value).toBe('qwen2.5-coder:7b');
  });

  it('shows a summary of older turns as one folded note, and says when the context was compacted', async () => {
    await openChat([msg('s1', 'system', 'The person asked for a parser; we chose nom.', { kind: 'summary' }), msg('u1', 'user', 'go on')]);
    const note = await screen.findByRole('button', { name: 'Earlier messages were summarised' });
    expect(screen.queryByText(/we chose nom/)).toBeNull();
    fireEvent.click(note);
    expect(screen.getByText('The person asked for a parser; we chose nom.')).toBeTruthy();
    expect(note.getAttribute('aria-expanded')).toBe('true');
    act(() => engine.emit(TOPIC, 'context.usage', { used_tokens: 9000, limit_tokens: 32768, compacted: true }));
    expect((await screen.findByRole('note')).textContent).toContain('older turns summarised to fit the context');
  });
});

describe('Settings → Agent tools', () => {
  it('switches commands without asking, sets the context cap, and revokes an always-allowed tool', async () => {
    let allowed = ['run_command'];
    engine
      .on('projects.list', () => [project, { ...project, id: 'prj_2', name: 'empty' }])
      .on('tools.allowed', (p) => (p.project_id === 'prj_1' ? allowed : []))
      .on('tools.revoke', (p) => {
        allowed = allowed.filter((t) => t !== p.tool);
        return {};
      });
    const set: [string, string | null][] = [];
    const onSet = (key: string, value: string | null) => {
      set.push([key, value]);
      return Promise.resolve();
    };
    const { rerender } = render(<AgentTools autoApproveRun={null} maxContext={null} onSet={onSet} />);
    const list = screen.getByRole('list', { name: 'Tools always allowed' });
    await waitFor(() => expect(list.textContent).toBe('run_command in demo Revoke'));

    const auto = screen.getByRole('switch', { name: 'Run commands without asking' }) as HTMLInputElement;
    expect(auto.checked).toBe(false);
    fireEvent.click(auto);
    expect(set).toEqual([['tools.auto_approve_run', 'true']]);
    rerender(<AgentTools autoApproveRun="true" maxContext={null} onSet={onSet} />);
    expect(auto.checked).toBe(true);
    fireEvent.click(auto);
    expect(set.at(-1)).toEqual(['tools.auto_approve_run', null]);

    const cap = screen.getByRole('spinbutton', { name: 'Context cap in tokens' }) as HTMLInputElement;
    expect(cap.placeholder).toBe('32768');
    fireEvent.change(cap, { target: { value: '16384' } });
    fireEvent.blur(cap);
    expect(set.at(-1)).toEqual(['max_context', '16384']);

    fireEvent.click(within(list).getByRole('button', { name: 'Revoke run_command in demo' }));
    await waitFor(() => expect(engine.callsOf('tools.revoke')).toEqual([{ project_id: 'prj_1', tool: 'run_command' }]));
    expect(await screen.findByText('No project lets a tool run without asking.')).toBeTruthy();
  });
});
