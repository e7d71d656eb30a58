// The review of a workflow's changes (issue 19), against a fake engine behind the real client
// and a stand-in Monaco that keeps what the diff editor was given.
import { engine, EngineError } from '../test/engine';
import { fake, fakeMonaco } from '../test/fakeMonaco';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within, configure } from '@testing-library/react';
import { client } from '../api';
import { Workflows } from './Workflows';
import { reviewParams } from './Review';
import type { Project, Workflow } from '../protocol/generated';
import type { ReviewFile } from '../review-types';

vi.mock('./loadMonaco', () => ({ loadMonaco: () => Promise.resolve(fakeMonaco) }));
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

// A loaded machine (builds beside the tests) can be slow to render: waits allow for it.
configure({ asyncUtilTimeout: 5000 });
beforeAll(() => {
  client.start();
  return waitFor(() => expect(client.state.status).toBe('open'));
});
beforeEach(() => {
  engine.reset();
  fake.diffEditors.length = 0;
});
afterEach(cleanup);

const project: Project = { id: 'prj_1', name: 'demo', path: '/tmp/demo', created_at: '2026-11-23T00:00:00.000Z' };
const wf = (patch: Partial<Workflow> & Record<string, unknown> = {}): Workflow =>
  ({ id: 'wf_1', project_id: 'prj_1', request: 'Greet twice', state: 'running', progress: 0.8, created_at: new Date().toISOString(), stage: 'check', agents: [], ...patch }) as Workflow;

const files: ReviewFile[] = [
  {
    path: 'src/a.txt',
    before: 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n',
    after: 'ONE\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nTEN\n',
    diff: '--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,4 +1,4 @@\n-one\n+ONE\n two\n three\n four\n@@ -7,4 +7,4 @@\n seven\n eight\n nine\n-ten\n+TEN\n',
    additions: 2,
    deletions: 2,
    hunks: [
      { index: 0, old_start: 1, old_lines: 4, new_start: 1, new_lines: 4 },
      { index: 1, old_start: 7, old_lines: 4, new_start: 7, new_lines: 4 },
    ],
  },
  {
    path: 'src/new.txt',
    before: null,
    after: 'fresh\n',
    diff: '--- /dev/null\n+++ b/src/new.txt\n@@ -0,0 +1 @@\n+fresh\n',
    additions: 1,
    deletions: 0,
    hunks: [{ index: 0, old_start: 0, old_lines: 0, new_start: 1, new_lines: 1 }],
  },
];

describe('Review of a workflow’s changes', () => {
  it('accepts one hunk and rejects another, accepts a new file, and submits exactly that', async () => {
    let state = 'reviewing';
    engine
      .on('workflows.list', () => [wf({ state })])
      .on('workflows.get', () => wf({ state, review: { files } }))
      .on('workflows.review', () => {
        state = 'committing';
        return wf({ state });
      })
      .on('checkpoints.restore', () => ({ undo: { id: 'cp_9', label: 'Before restoring', time: '', paths: [] } }));
    render(<Workflows project={project} onOpenFile={vi.fn()} />);
    const review = await screen.findByRole('region', { name: 'Review changes' });
    // The first file opens in the diff editor: before on the left, after on the right.
    await waitFor(() => expect(fake.diffEditors[0]?.model?.modified.text).toBe(files[0].after));
    expect(fake.diffEditors[0].model?.original.text).toBe(files[0].before);
    const submit = within(review).getByRole('button', { name: 'Submit review' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    // Each hunk is listed with its lines.
    const hunks = within(review).getByRole('list', { name: 'Changes in src/a.txt' });
    expect(hunks.textContent).toContain('+ONE');
    expect(hunks.textContent).toContain('+TEN');
    expect(within(review).getByRole('listitem', { name: 'File src/a.txt' }).textContent).toContain('+2 −2');
    expect(within(review).getByRole('listitem', { name: 'File src/new.txt' }).textContent).toContain('new file · +1 −0');

    fireEvent.click(within(review).getByRole('button', { name: 'Accept change 1 of src/a.txt' }));
    fireEvent.click(within(review).getByRole('button', { name: 'Reject change 2 of src/a.txt' }));
    // The decided hunk is scrolled to and highlighted in the diff editor.
    await waitFor(() => expect(fake.diffEditors[0].modified.decorated).toEqual([{ start: 7, end: 10, className: 'review-hunk-focus' }]));
    expect(fake.diffEditors[0].modified.revealed.at(-1)).toEqual([7, 10]);
    expect(screen.getByLabelText('Change 1 of src/a.txt: accepted')).toBeTruthy();
    expect(screen.getByLabelText('Change 2 of src/a.txt: rejected')).toBeTruthy();
    expect(within(review).getByRole('note').textContent).toContain('src/new.txt');

    // The new file: empty before.
    fireEvent.click(within(review).getByRole('button', { name: 'Show src/new.txt' }));
    await waitFor(() => expect(fake.diffEditors[0].model?.modified.text).toBe('fresh\n'));
    expect(fake.diffEditors[0].model?.original.text).toBe('');
    fireEvent.click(within(review).getByRole('button', { name: 'Accept file src/new.txt' }));
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() =>
      expect(engine.callsOf('workflows.review')).toEqual([{ id: 'wf_1', accept: [{ path: 'src/a.txt', hunks: [0] }, 'src/new.txt'], reject: [] }]),
    );
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Review changes' })).toBeNull());

    // The outcome, with an undo of the rejection.
    act(() => engine.emit('workflow/wf_1', 'review.done', { accepted: ['src/new.txt'], partial: ['src/a.txt'], rejected: [], undo: 'cp_7' }));
    const outcome = await screen.findByText(/Review done/);
    expect(outcome.textContent).toContain('Committed: src/new.txt. Committed in part (the rejected changes put back): src/a.txt.');
    fireEvent.click(screen.getByRole('button', { name: 'Undo the rejection' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore')).toEqual([{ project_id: 'prj_1', id: 'cp_7' }]));
  });

  it('shows the review when review.ready arrives, and Reject file / Accept all decide whole files', async () => {
    engine
      .on('workflows.list', () => [wf()])
      .on('workflows.get', () => wf())
      .on('workflows.review', () => {
        throw new EngineError('src/x.txt is not in the review', -32602, 'invalid_input');
      });
    render(<Workflows project={project} onOpenFile={vi.fn()} />);
    await waitFor(() => expect(engine.topics.has('workflow/wf_1')).toBe(true));
    expect(screen.queryByRole('region', { name: 'Review changes' })).toBeNull();
    act(() => engine.emit('workflow/wf_1', 'review.ready', { files }));
    const review = await screen.findByRole('region', { name: 'Review changes' });
    fireEvent.click(within(review).getByRole('button', { name: 'Accept all' }));
    fireEvent.click(within(review).getByRole('button', { name: 'Reject file src/a.txt' }));
    fireEvent.click(within(review).getByRole('button', { name: 'Submit review' }));
    await waitFor(() => expect(engine.callsOf('workflows.review')).toEqual([{ id: 'wf_1', accept: ['src/new.txt'], reject: ['src/a.txt'] }]));
    // A refusal is shown in the server's words and the review stays.
    expect((await within(review).findByRole('alert')).textContent).toContain('src/x.txt is not in the review');
  });

  it('reviewParams: all hunks accepted → the path, none → reject, some → {path, hunks}', () => {
    const three: ReviewFile = { ...files[0], path: 'b', hunks: [0, 1, 2].map((index) => ({ index, old_start: 1, old_lines: 1, new_start: 1, new_lines: 1 })) };
    expect(reviewParams([files[0], files[1], three], { 'src/a.txt': [true, true], 'src/new.txt': [false], b: [false, true, true] })).toEqual({
      accept: ['src/a.txt', { path: 'b', hunks: [1, 2] }],
      reject: ['src/new.txt'],
    });
  });

  it('the start form has a review option that follows the setting, sent when changed', async () => {
    engine
      .on('workflows.list', () => [])
      .on('settings.get', () => ({ 'workflows.review': 'true' }))
      .on('workflows.start', () => wf())
      .on('workflows.get', () => wf());
    render(<Workflows project={project} onOpenFile={vi.fn()} />);
    const box = screen.getByRole('checkbox', { name: 'Review the changes before they are committed' }) as HTMLInputElement;
    await waitFor(() => expect(box.checked).toBe(true));
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Go' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() => expect(engine.callsOf('workflows.start')).toHaveLength(1));
    expect(engine.callsOf('workflows.start')[0].options).toEqual({ approve_plan: false });
    fireEvent.click(box);
    fireEvent.change(screen.getByRole('textbox', { name: 'Request' }), { target: { value: 'Go again' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start workflow' }));
    await waitFor(() => expect(engine.callsOf('workflows.start')).toHaveLength(2));
    expect(engine.callsOf('workflows.start')[1].options).toEqual({ approve_plan: false, review: false });
  });
});
