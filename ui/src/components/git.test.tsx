// A commit's details and a file's diff in it, in the Git panel (issue 19).
import { engine } from '../test/engine';
import { fake, fakeMonaco } from '../test/fakeMonaco';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within, configure } from '@testing-library/react';
import { client } from '../api';
import { GitPanel } from './Git';

vi.mock('./loadMonaco', () => ({ loadMonaco: () => Promise.resolve(fakeMonaco) }));
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

const C = '0123456789abcdef0123456789abcdef01234567';

function repo(parents: string[]) {
  engine
    .on('git.status', () => ({ branch: 'main', entries: [] }))
    .on('git.branches', () => [{ name: 'main', current: true }])
    .on('git.log', () => [{ commit: C, summary: 'Add a greeting', author: 'Ada', time: '2026-12-06T10:00:00Z' }])
    .on('git.commit_details', () => ({
      commit: C,
      summary: 'Add a greeting',
      message: 'Add a greeting\n\nAnd say it twice.',
      author: 'Ada',
      time: '2026-12-06T10:00:00Z',
      parents,
      files: [
        { path: 'src/greet.txt', status: 'added', additions: 2, deletions: 0 },
        { path: 'README.md', status: 'modified', additions: 1, deletions: 1 },
        { path: 'docs/guide.md', status: 'renamed', additions: 1, deletions: 0, old_path: 'GUIDE.md' },
        { path: 'logo.png', status: 'added', additions: 0, deletions: 0, binary: true },
      ],
    }))
    .on('git.show', (p) => {
      const before: Record<string, string> = { 'README.md': '# old\n', 'GUIDE.md': 'guide\n' };
      const after: Record<string, string> = { 'README.md': '# new\n', 'docs/guide.md': 'guide\nmore\n' };
      return { content: (p.rev === `${C}^` ? before : after)[p.path as string] ?? (p.rev === C ? 'hi\nhi\n' : null) };
    });
}

describe('Git history: commit details', () => {
  it('shows a commit’s message and files with +/− and status, and a file’s diff in that commit', async () => {
    repo(['fedcba98']);
    render(<GitPanel projectId="prj_1" changed={0} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Commit 01234567 Add a greeting' }));
    const details = await screen.findByRole('region', { name: 'Commit 01234567' });
    const files = await within(details).findByRole('list', { name: 'Files in the commit' });
    expect(engine.callsOf('git.commit_details')).toEqual([{ project_id: 'prj_1', commit: C }]);
    expect(details.textContent).toContain('And say it twice.');
    expect(files.children[0].textContent).toMatch(/A\s*src\/greet\.txt\s*\+2\s*−0/);
    expect(files.children[1].textContent).toMatch(/M\s*README\.md\s*\+1\s*−1/);
    fireEvent.click(within(files).getByRole('button', { name: 'Show README.md in 01234567' }));
    await waitFor(() => expect(fake.diffEditors[0]?.model?.modified.text).toBe('# new\n'));
    expect(fake.diffEditors[0].model?.original.text).toBe('# old\n');
    expect(engine.callsOf('git.show')).toEqual([
      { project_id: 'prj_1', rev: `${C}^`, path: 'README.md' },
      { project_id: 'prj_1', rev: C, path: 'README.md' },
    ]);
    expect(screen.getByRole('dialog', { name: 'Changes to README.md' })).toBeTruthy();
    // A renamed file is compared with its old path at the parent; a binary one has no counts.
    expect(files.children[2].textContent).toContain('(from GUIDE.md)');
    expect(files.children[3].textContent).toMatch(/logo\.png\s*binary$/);
    fireEvent.click(within(files).getByRole('button', { name: 'Show docs/guide.md in 01234567' }));
    await waitFor(() => expect(fake.diffEditors.at(-1)?.model?.modified.text).toBe('guide\nmore\n'));
    expect(fake.diffEditors.at(-1)?.model?.original.text).toBe('guide\n');
    expect(engine.callsOf('git.show').slice(2)).toEqual([
      { project_id: 'prj_1', rev: `${C}^`, path: 'GUIDE.md' },
      { project_id: 'prj_1', rev: C, path: 'docs/guide.md' },
    ]);
    fireEvent.click(within(details).getByRole('button', { name: 'Close commit' }));
    expect(screen.queryByRole('region', { name: 'Commit 01234567' })).toBeNull();
  });

  it('a first commit’s file shows as all new, without asking for a parent', async () => {
    repo([]);
    render(<GitPanel projectId="prj_1" changed={0} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Commit 01234567 Add a greeting' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Show src/greet.txt in 01234567' }));
    await waitFor(() => expect(fake.diffEditors[0]?.model?.modified.text).toBe('hi\nhi\n'));
    expect(fake.diffEditors[0].model?.original.text).toBe('');
    expect(engine.callsOf('git.show')).toEqual([{ project_id: 'prj_1', rev: C, path: 'src/greet.txt' }]);
  });
});
