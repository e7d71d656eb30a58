// File operations in the tree, tabs following a rename, and find in files (issue 19), against a
// fake engine behind the real client and a stand-in Monaco.
import { engine, EngineError } from '../test/engine';
import { fake, fakeMonaco } from '../test/fakeMonaco';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within, configure } from '@testing-library/react';
import { client } from '../api';
import { FileTree } from './FileTree';
import { Editor } from './Editor';
import { FindInFiles, markMatches } from './FindInFiles';
import { movedPath } from './TreeOps';
import { useUnsaved } from '../unsaved';
import type { FileEntry } from '../protocol/generated';

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
  fake.editors.length = 0;
  useUnsaved.setState({ paths: [] });
});
afterEach(cleanup);

const checkpoint = (id: string) => ({ id, label: `Before ${id}`, time: '2026-12-06T00:00:00Z', paths: [] });
const entries: FileEntry[] = [
  { path: 'src', kind: 'dir', size: 0 },
  { path: 'src/a.txt', kind: 'file', size: 3 },
  { path: 'README.md', kind: 'file', size: 5 },
] as FileEntry[];

function tree(props: Partial<Parameters<typeof FileTree>[0]> = {}) {
  engine.on('files.tree', () => entries);
  return render(<FileTree projectId="prj_1" changed={0} onOpen={vi.fn()} active={null} {...props} />);
}

describe('File tree operations', () => {
  it('renames from the context menu, inline; the tabs are told; Undo restores the checkpoint and renames back', async () => {
    engine.on('files.rename', () => ({ undo: checkpoint('cp_1') })).on('checkpoints.restore', () => ({ undo: checkpoint('cp_2') }));
    const onRenamed = vi.fn();
    tree({ onRenamed });
    fireEvent.contextMenu(await screen.findByRole('button', { name: 'Open file src/a.txt' }));
    const menu = screen.getByRole('menu', { name: 'Actions for src/a.txt' });
    expect(within(menu).getAllByRole('menuitem').map((m) => m.textContent)).toEqual(['New file', 'New folder', 'Rename', 'Delete']);
    // The first item has the focus; arrow keys move.
    expect(document.activeElement?.textContent).toBe('New file');
    fireEvent.keyDown(menu, { key: 'ArrowDown' });
    fireEvent.keyDown(menu, { key: 'ArrowDown' });
    expect(document.activeElement?.textContent).toBe('Rename');
    fireEvent.click(document.activeElement as HTMLElement);
    const box = screen.getByRole('textbox', { name: 'New name for src/a.txt' }) as HTMLInputElement;
    expect(box.value).toBe('a.txt');
    fireEvent.change(box, { target: { value: 'b.txt' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    await waitFor(() => expect(engine.callsOf('files.rename')).toEqual([{ project_id: 'prj_1', from: 'src/a.txt', to: 'src/b.txt' }]));
    expect(onRenamed).toHaveBeenCalledWith('src/a.txt', 'src/b.txt');
    expect((await screen.findByRole('status')).textContent).toContain('Renamed src/a.txt to src/b.txt');
    fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore')).toEqual([{ project_id: 'prj_1', id: 'cp_1' }]));
    await waitFor(() => expect(onRenamed).toHaveBeenLastCalledWith('src/b.txt', 'src/a.txt'));
  });

  it('F2 renames the focused entry; a rename onto an existing name shows the refusal', async () => {
    engine.on('files.rename', () => {
      throw new EngineError('README.md already exists', -32009, 'conflict');
    });
    tree();
    fireEvent.keyDown(await screen.findByRole('button', { name: 'Open file src/a.txt' }), { key: 'F2' });
    const box = screen.getByRole('textbox', { name: 'New name for src/a.txt' });
    fireEvent.change(box, { target: { value: '../README.md' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect((await screen.findByRole('alert')).textContent).toContain('README.md already exists');
    // Escape leaves a rename without a call.
    fireEvent.keyDown(screen.getByRole('button', { name: 'Folder src' }), { key: 'F2' });
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'New name for src' }), { key: 'Escape' });
    expect(screen.queryByRole('textbox', { name: 'New name for src' })).toBeNull();
    expect(engine.callsOf('files.rename')).toHaveLength(1);
  });

  it('Delete asks in a dialog (saying what unsaved edits are lost), deletes, closes the tabs and offers Undo', async () => {
    engine.on('files.delete', () => ({ undo: checkpoint('cp_3'), skipped: [] })).on('checkpoints.restore', () => ({ undo: checkpoint('cp_4') }));
    useUnsaved.setState({ paths: ['src/a.txt'] });
    const onDeleted = vi.fn();
    tree({ onDeleted });
    fireEvent.keyDown(await screen.findByRole('button', { name: 'Folder src' }), { key: 'Delete' });
    const dialog = screen.getByRole('alertdialog', { name: 'Delete src' });
    expect(dialog.textContent).toContain('and everything in it');
    expect(dialog.textContent).toContain('Your unsaved changes to a.txt will be lost');
    // Cancel: nothing is deleted.
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(engine.callsOf('files.delete')).toEqual([]);
    // With the keyboard menu key, then Delete, then confirm.
    fireEvent.keyDown(screen.getByRole('button', { name: 'Folder src' }), { key: 'F10', shiftKey: true });
    fireEvent.click(within(screen.getByRole('menu')).getByRole('menuitem', { name: 'Delete' }));
    fireEvent.click(within(screen.getByRole('alertdialog', { name: 'Delete src' })).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(engine.callsOf('files.delete')).toEqual([{ project_id: 'prj_1', path: 'src' }]));
    expect(onDeleted).toHaveBeenCalledWith('src');
    expect((await screen.findByRole('status')).textContent).toContain('Deleted src');
    fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore')).toEqual([{ project_id: 'prj_1', id: 'cp_3' }]));
  });

  it('creates a file in the folder of the menu and opens it; a new folder from the toolbar at the root', async () => {
    engine.on('files.create', () => ({}));
    const onOpen = vi.fn();
    tree({ onOpen });
    fireEvent.contextMenu(await screen.findByRole('button', { name: 'Folder src' }));
    fireEvent.click(screen.getByRole('menuitem', { name: 'New file' }));
    const name = screen.getByRole('textbox', { name: 'New file name' });
    fireEvent.change(name, { target: { value: 'c.rs' } });
    fireEvent.keyDown(name, { key: 'Enter' });
    await waitFor(() => expect(engine.callsOf('files.create')).toEqual([{ project_id: 'prj_1', path: 'src/c.rs', kind: 'file' }]));
    expect(onOpen).toHaveBeenCalledWith('src/c.rs');
    fireEvent.click(screen.getByRole('button', { name: 'New folder' }));
    const folder = screen.getByRole('textbox', { name: 'New folder name' });
    fireEvent.change(folder, { target: { value: 'docs' } });
    fireEvent.keyDown(folder, { key: 'Enter' });
    await waitFor(() => expect(engine.callsOf('files.create')[1]).toEqual({ project_id: 'prj_1', path: 'docs', kind: 'dir' }));
  });

  it('movedPath moves a file and what is inside a renamed folder, nothing else', () => {
    expect(movedPath('src/a.txt', 'src/a.txt', 'src/b.txt')).toBe('src/b.txt');
    expect(movedPath('src/x/y.rs', 'src', 'lib')).toBe('lib/x/y.rs');
    expect(movedPath('srcs/y.rs', 'src', 'lib')).toBe('srcs/y.rs');
  });
});

describe('Editor tabs after a rename', () => {
  it('the tab follows, keeping its unsaved edit, and saving writes to the new path', async () => {
    engine.on('files.read', (p) => ({ content: `on disk: ${String(p.path)}` })).on('files.write', () => ({}));
    const props = { projectId: 'prj_1', onActivate: vi.fn(), onClose: vi.fn(), changed: { n: 0, paths: [] } };
    const { rerender } = render(<Editor {...props} open={['src/a.txt']} active="src/a.txt" />);
    await waitFor(() => expect(fake.editors[0]?.model?.getValue()).toBe('on disk: src/a.txt'));
    act(() => fake.editors[0].model?.setValue('typed, not saved'));
    await screen.findByRole('tab', { name: 'a.txt •' });
    rerender(<Editor {...props} open={['src/b.rs']} active="src/b.rs" renamed={{ from: 'src/a.txt', to: 'src/b.rs', n: 1 }} />);
    // Same text, still unsaved, under the new name; nothing re-read from disk.
    expect(await screen.findByRole('tab', { name: 'b.rs •' })).toBeTruthy();
    expect(fake.editors[0].model?.getValue()).toBe('typed, not saved');
    expect(fake.editors[0].model?.language).toBe('rust');
    expect(engine.callsOf('files.read').map((c) => c.path)).toEqual(['src/a.txt']);
    await waitFor(() => expect(useUnsaved.getState().paths).toEqual(['src/b.rs']));

    fireEvent.click(screen.getByRole('button', { name: 'Save file' }));
    await waitFor(() => expect(engine.callsOf('files.write')).toEqual([{ project_id: 'prj_1', path: 'src/b.rs', content: 'typed, not saved' }]));
    // Saved, then typed into again: the new name is the one marked unsaved.
    await screen.findByRole('tab', { name: 'b.rs' });
    act(() => fake.editors[0].model?.setValue('typed again'));
    expect(await screen.findByRole('tab', { name: 'b.rs •' })).toBeTruthy();
    expect(useUnsaved.getState().paths).toEqual(['src/b.rs']);
  });
});

describe('Find in files', () => {
  const matches = {
    matches: [
      { path: 'src/a.rs', line: 3, column: 5, text: 'let greet = 1; greet()' },
      { path: 'src/a.rs', line: 9, column: 1, text: 'greet' },
      { path: 'README.md', line: 1, column: 3, text: '# greet' },
    ],
    truncated: false,
    files_searched: 12,
  };

  it('searches with the toggles and glob, groups by file with the match marked, and opens a result at its line', async () => {
    engine.on('files.search', () => matches);
    const onOpen = vi.fn();
    render(<FindInFiles projectId="prj_1" onOpen={onOpen} onClose={vi.fn()} focus={1} />);
    expect(document.activeElement).toBe(screen.getByRole('textbox', { name: 'Find' }));
    fireEvent.click(screen.getByRole('button', { name: 'Match case' }));
    fireEvent.click(screen.getByRole('button', { name: 'Regular expression' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Files to include' }), { target: { value: 'src/**' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Find' }), { target: { value: 'gr[e]+t' } });
    const results = await screen.findByRole('list', { name: 'Find results' });
    expect(engine.callsOf('files.search').at(-1)).toEqual({ project_id: 'prj_1', query: 'gr[e]+t', regex: true, case_sensitive: true, glob: 'src/**', limit: 2000 });
    const a = within(results).getByRole('listitem', { name: 'Matches in src/a.rs' });
    expect(within(a).getAllByRole('button')).toHaveLength(2);
    expect([...a.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['greet', 'greet', 'greet']);
    expect(screen.getByRole('status').textContent).toContain('3 matches in 2 files');
    fireEvent.click(within(a).getByRole('button', { name: 'src/a.rs line 9: greet' }));
    expect(onOpen).toHaveBeenCalledWith('src/a.rs', 9);
  });

  it('shows a bad regex in the engine’s words', async () => {
    engine.on('files.search', () => {
      throw new EngineError('regex parse error: unclosed group', -32602, 'invalid_input');
    });
    render(<FindInFiles projectId="prj_1" onOpen={vi.fn()} onClose={vi.fn()} focus={1} />);
    fireEvent.click(screen.getByRole('button', { name: 'Regular expression' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Find' }), { target: { value: '(' } });
    expect((await screen.findByRole('alert')).textContent).toContain('regex parse error: unclosed group');
  });

  it('previews a replace per file, replaces in the ticked files only, and offers Undo', async () => {
    engine
      .on('files.search', () => matches)
      .on('files.replace', (p) =>
        p.preview
          ? {
              files: [
                { path: 'src/a.rs', replacements: 3, diff: '@@ -3 +3 @@\n-let greet = 1; greet()\n+let hello = 1; hello()\n' },
                { path: 'README.md', replacements: 1, diff: '@@ -1 +1 @@\n-# greet\n+# hello\n' },
              ],
            }
          : { files: [{ path: 'src/a.rs', replacements: 3, diff: '' }], undo: checkpoint('cp_r') },
      )
      .on('checkpoints.restore', () => ({ undo: checkpoint('cp_u') }));
    render(<FindInFiles projectId="prj_1" onOpen={vi.fn()} onClose={vi.fn()} focus={1} />);
    fireEvent.change(screen.getByRole('textbox', { name: 'Find' }), { target: { value: 'greet' } });
    await screen.findByRole('list', { name: 'Find results' });
    fireEvent.click(screen.getByRole('button', { name: 'Replace' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Replace with' }), { target: { value: 'hello' } });
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }));
    const preview = await screen.findByRole('group', { name: 'Replace preview' });
    expect(engine.callsOf('files.replace')[0]).toEqual({ project_id: 'prj_1', query: 'greet', replacement: 'hello', preview: true });
    expect(within(preview).getByLabelText('Preview of README.md').textContent).toContain('+# hello');
    expect(within(preview).getByRole('button', { name: 'Replace in 2 files' })).toBeTruthy();
    fireEvent.click(within(preview).getByRole('checkbox', { name: 'Replace in README.md' }));
    fireEvent.click(within(preview).getByRole('button', { name: 'Replace in 1 file' }));
    await waitFor(() => expect(engine.callsOf('files.replace')[1]).toEqual({ project_id: 'prj_1', query: 'greet', replacement: 'hello', paths: ['src/a.rs'] }));
    expect((await screen.findByText(/Replaced 3 matches in 1 file/)).textContent).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    await waitFor(() => expect(engine.callsOf('checkpoints.restore')).toEqual([{ project_id: 'prj_1', id: 'cp_r' }]));
  });

  it('markMatches marks plain text literally and falls back to the column for a pattern JS cannot read', () => {
    const text = (nodes: ReturnType<typeof markMatches>) => render(<p>{nodes}</p>).container.querySelectorAll('mark');
    expect([...text(markMatches('a.b axb', 'a.b', false, true, 1))].map((m) => m.textContent)).toEqual(['a.b']);
    expect([...text(markMatches('hello', '(?<x', true, true, 2))].map((m) => m.textContent)).toEqual(['e']);
  });
});
