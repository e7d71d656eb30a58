// A chat's Changes bar, its agent picker, and jumping to a search hit (issue 19), against a
// fake engine behind the real client.
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within, configure } from '@testing-library/react';
import { client } from '../api';
import { Chat } from './Chat';
import type { Message, Project, Session } from '../protocol/generated';

HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
// A loaded machine (builds beside the tests) can be slow to render: waits allow for it.
configure({ asyncUtilTimeout: 5000 });
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
const msg = (id: string, content: string, sessionId = 'ses_1', role: Message['role'] = 'assistant'): Message => ({
  id,
  session_id: sessionId,
  role,
  content,
  status: 'complete',
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
  tool_calls: [],
});
const change = (path: string, additions: number, deletions: number) => ({
  path,
  checkpoint_id: 'cp_0',
  additions,
  deletions,
  diff: `--- a/${path}\n+++ b/${path}\n@@ -1 +1 @@\n-old ${path}\n+new ${path}\n`,
});

describe('Changes bar under a chat with tools', () => {
  it('lists what the agent changed, shows a diff, keeps or undoes per file and all, follows session.changes', async () => {
    let files = [change('src/a.rs', 3, 1), change('README.md', 1, 0)];
    engine
      .on('sessions.list', () => [session])
      .on('messages.list', () => [])
      .on('models.list', () => [])
      .on('tools.pending', () => [])
      .on('sessions.changes', () => files)
      .on('sessions.keep', (p) => {
        files = files.filter((f) => !(p.paths as string[] | undefined)?.includes(f.path) && p.paths !== undefined);
        return {};
      })
      .on('sessions.revert', (p) => {
        files = p.paths ? files.filter((f) => !(p.paths as string[]).includes(f.path)) : [];
        return { undo: { id: 'cp_undo', label: 'Before undoing', time: '', paths: [] } };
      })
      .on('checkpoints.restore', () => {
        // The undone change is back.
        files = [change('src/a.rs', 3, 1)];
        return { undo: { id: 'cp_x', label: '', time: '', paths: [] } };
      });
    render(<Chat project={project} />);
    // The bar goes while there is nothing to show: found again each time.
    let bar = await screen.findByRole('region', { name: 'Changes' });
    await within(bar).findByRole('button', { name: 'Show changes to src/a.rs' });
    expect(bar.textContent).toContain('Changes: 2 files');
    expect(bar.textContent).toContain('+4');
    expect(within(bar).getByLabelText('3 lines added')).toBeTruthy();
    fireEvent.click(within(bar).getByRole('button', { name: 'Show changes to src/a.rs' }));
    expect(within(bar).getByLabelText('Changes to src/a.rs').textContent).toContain('+new src/a.rs');

    fireEvent.click(within(bar).getByRole('button', { name: 'Keep README.md' }));
    await waitFor(() => expect(engine.callsOf('sessions.keep')).toEqual([{ session_id: 'ses_1', paths: ['README.md'] }]));
    await waitFor(() => expect(within(bar).queryByRole('button', { name: 'Keep README.md' })).toBeNull());

    fireEvent.click(within(bar).getByRole('button', { name: 'Undo changes to src/a.rs' }));
    await waitFor(() => expect(engine.callsOf('sessions.revert')).toEqual([{ session_id: 'ses_1', paths: ['src/a.rs'] }]));
    expect((await within(bar).findByRole('status')).textContent).toContain('Undid the changes to src/a.rs');
    // The undo is itself undoable.
    fireEvent.click(within(bar).getByRole('button', { name: 'Redo' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore')).toEqual([{ project_id: 'prj_1', id: 'cp_undo' }]));

    // A new change announced by the engine shows; Keep all / Undo all act on every file.
    await waitFor(() => expect(screen.queryByRole('status')).toBeNull());
    bar = await screen.findByRole('region', { name: 'Changes' });
    files = [change('src/b.rs', 2, 2)];
    act(() => engine.emit('session/ses_1', 'session.changes', { files }));
    await within(bar).findByRole('button', { name: 'Show changes to src/b.rs' });
    fireEvent.click(within(bar).getByRole('button', { name: 'Undo all' }));
    await waitFor(() => expect(engine.callsOf('sessions.revert').at(-1)).toEqual({ session_id: 'ses_1' }));
    await waitFor(() => expect(within(bar).queryByRole('button', { name: 'Show changes to src/b.rs' })).toBeNull());
    files = [change('src/c.rs', 1, 0)];
    act(() => engine.emit('session/ses_1', 'session.changes', { files }));
    fireEvent.click(await within(bar).findByRole('button', { name: 'Keep all' }));
    await waitFor(() => expect(engine.callsOf('sessions.keep').at(-1)).toEqual({ session_id: 'ses_1' }));
  });

  it('shows a refused keep in the server’s words; a chat without tools has no bar', async () => {
    engine
      .on('sessions.list', () => [session])
      .on('messages.list', () => [])
      .on('models.list', () => [])
      .on('tools.pending', () => [])
      .on('sessions.changes', () => [change('src/a.rs', 1, 1)])
      .on('sessions.keep', () => {
        throw new EngineError('no session ses_1', -32602, 'not_found');
      });
    const { unmount } = render(<Chat project={project} />);
    const bar = await screen.findByRole('region', { name: 'Changes' });
    fireEvent.click(await within(bar).findByRole('button', { name: 'Keep src/a.rs' }));
    expect((await within(bar).findByRole('alert')).textContent).toContain('no session ses_1');
    unmount();
    engine.on('sessions.list', () => [{ ...session, tools: false }]);
    render(<Chat project={project} />);
    await screen.findByRole('combobox', { name: 'Agent' });
    expect(screen.queryByRole('region', { name: 'Changes' })).toBeNull();
  });
});

describe('Chat agent and search hits', () => {
  it('picks the agent per chat with sessions.update', async () => {
    let current = session;
    engine
      .on('sessions.list', () => [current])
      .on('messages.list', () => [])
      .on('models.list', () => [])
      .on('tools.pending', () => [])
      .on('sessions.changes', () => [])
      .on('sessions.update', (p) => {
        current = { ...current, agent: p.agent as string };
        return current;
      });
    render(<Chat project={project} />);
    const agent = (await screen.findByRole('combobox', { name: 'Agent' })) as HTMLSelectElement;
    await waitFor(() => expect(agent.disabled).toBe(false));
    expect(agent.value).toBe('assistant');
    expect([...agent.options].map((o) => o.value)).toEqual(['assistant', 'reviewer']);
    fireEvent.change(agent, { target: { value: 'reviewer' } });
    await waitFor(() => expect(engine.callsOf('sessions.update')).toEqual([{ id: 'ses_1', agent: 'reviewer' }]));
    await waitFor(() => expect(agent.value).toBe('reviewer'));
  });

  it('a hit in a long chat opens it, loads older pages until the message is there, and marks it', async () => {
    // jsdom does not scroll: scrolling keeps the offset and says so, as a browser does.
    const scrolled = new WeakMap<Element, number>();
    Object.defineProperty(HTMLElement.prototype, 'scrollTop', {
      configurable: true,
      get(this: HTMLElement) {
        return scrolled.get(this) ?? 0;
      },
      set(this: HTMLElement, v: number) {
        scrolled.set(this, v);
      },
    });
    Object.defineProperty(HTMLElement.prototype, 'scrollHeight', { configurable: true, get: () => 1_000_000 });
    HTMLElement.prototype.scrollTo = function (this: HTMLElement, options?: ScrollToOptions | number) {
      this.scrollTop = typeof options === 'object' ? (options.top ?? 0) : 0;
      this.dispatchEvent(new Event('scroll'));
    };
    const other: Session = { ...session, id: 'ses_2', title: 'Long chat', tools: false };
    // 1,500 messages: the newest 200 load first; the hit (m0042) is older.
    const long = Array.from({ length: 1500 }, (_, i) => msg(`m${String(i).padStart(4, '0')}`, i === 42 ? 'the needle is here' : `message ${i}`, 'ses_2'));
    engine
      .on('sessions.list', () => [{ ...session, tools: false }, other])
      .on('messages.list', (p) => {
        if (p.session_id !== 'ses_2') return [msg('x1', 'hello')];
        const end = p.before ? long.findIndex((m) => m.id === p.before) : long.length;
        return long.slice(Math.max(0, end - (p.limit as number)), end);
      })
      .on('models.list', () => [])
      .on('messages.search', () => [{ message: long[42], snippet: 'the [needle] is here' }]);
    render(<Chat project={project} searchSignal={1} />);
    fireEvent.change(within(await screen.findByRole('dialog', { name: 'Search history' })).getByRole('textbox', { name: 'Search' }), { target: { value: 'needle' } });
    fireEvent.click(await screen.findByRole('button', { name: /Open the chat of: the \[needle\]/ }, { timeout: 2000 }));
    // Older pages load until the hit is among them.
    await waitFor(() => expect(engine.callsOf('messages.list').filter((c) => c.session_id === 'ses_2' && c.before).length).toBeGreaterThan(0));
    const marked = await waitFor(() => {
      const el = document.querySelector('[aria-current="true"]');
      expect(el).not.toBeNull();
      return el as HTMLElement;
    }, { timeout: 8000 });
    expect(marked.textContent).toContain('the needle is here');
    expect(marked.className).toBe('hit');
    expect((screen.getByRole('combobox', { name: 'Session' }) as HTMLSelectElement).value).toBe('ses_2');
  }, 15000);
});
