// Archiving projects in the list and Settings → Storage (issue 19), against a fake engine
// behind the real client.
import { engine, EngineError } from '../test/engine';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within, configure } from '@testing-library/react';
import { client } from '../api';
import { ProjectList } from '../App';
import { Settings } from './Settings';
import type { Project } from '../protocol/generated';

HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;
// A loaded machine (builds beside the tests) can be slow to render: waits allow for it.
configure({ asyncUtilTimeout: 5000 });
beforeAll(() => {
  client.start();
  return waitFor(() => expect(client.state.status).toBe('open'));
});
beforeEach(() => engine.reset());
afterEach(cleanup);

const project = (id: string, name: string, archived_at?: string): Project & { archived_at?: string } => ({
  id,
  name,
  path: `/code/${name}`,
  created_at: '2026-11-23T00:00:00.000Z',
  ...(archived_at ? { archived_at } : {}),
});

describe('Archiving projects', () => {
  it('archives and unarchives; archived ones show only with Show archived, marked; projects.changed reloads', async () => {
    const all = [project('p1', 'live'), project('p2', 'old', '2026-10-01T00:00:00Z')];
    engine
      .on('projects.list', (p) => (p.include_archived ? all : all.filter((x) => !x.archived_at)))
      .on('projects.archive', (p) => {
        const x = all.find((y) => y.id === p.id);
        if (x) x.archived_at = '2026-12-06T00:00:00Z';
        return x;
      })
      .on('projects.unarchive', (p) => {
        const x = all.find((y) => y.id === p.id);
        if (x) delete x.archived_at;
        return x;
      });
    render(<ProjectList onOpen={() => undefined} />);
    await screen.findByRole('button', { name: 'Open live' });
    expect(screen.queryByRole('button', { name: 'Open old' })).toBeNull();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Show archived' }));
    const old = (await screen.findByRole('button', { name: 'Open old' })).closest('li') as HTMLElement;
    expect(engine.callsOf('projects.list').at(-1)).toEqual({ include_archived: true });
    expect(within(old).getByText('archived')).toBeTruthy();
    fireEvent.click(within(old).getByRole('button', { name: 'Unarchive old' }));
    await waitFor(() => expect(engine.callsOf('projects.unarchive')).toEqual([{ id: 'p2' }]));
    await waitFor(() => expect(screen.queryByText('archived')).toBeNull());
    fireEvent.click(screen.getByRole('checkbox', { name: 'Show archived' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Archive live' }));
    await waitFor(() => expect(engine.callsOf('projects.archive')).toEqual([{ id: 'p1' }]));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Open live' })).toBeNull());
    // Archived by age elsewhere: the list follows.
    all[1].archived_at = '2026-12-06T00:00:00Z';
    await waitFor(() => expect(engine.topics.has('projects')).toBe(true));
    act(() => engine.emit('projects', 'projects.changed', {}));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Open old' })).toBeNull());
  });
});

describe('Opening an archived project', () => {
  it('unarchives it first (its folder is watched again), then opens it', async () => {
    const old = project('p2', 'old', '2026-10-01T00:00:00Z');
    engine.on('projects.list', () => [old]).on('projects.unarchive', () => project('p2', 'old'));
    const opened: Project[] = [];
    render(<ProjectList onOpen={(p) => opened.push(p)} />);
    fireEvent.click(screen.getByRole('checkbox', { name: 'Show archived' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Open old' }));
    await waitFor(() => expect(opened).toHaveLength(1));
    expect(engine.callsOf('projects.unarchive')).toEqual([{ id: 'p2' }]);
    expect(opened[0]).not.toHaveProperty('archived_at');
  });
});

describe('Settings → Storage', () => {
  function settingsEngine(values: Record<string, string | null> = {}) {
    const set: Record<string, string | null> = { ...values };
    const backups = [{ id: 'b2', path: '/data/backups/b2.db', bytes: 2_500_000, time: '2026-12-06T03:00:00Z' }];
    engine
      .on('models.list', () => [])
      .on('system.health', () => ({ status: 'ok', checks: [] }))
      .on('settings.get', () => ({ ...set }))
      .on('settings.set', (p) => {
        set[p.key as string] = p.value as string | null;
        return {};
      })
      .on('sandbox.status', () => ({ setting: 'auto', mode: 'none', summary: '', network: false, allow_read: [] }))
      .on('mcp.list', () => [])
      .on('backups.list', () => backups)
      .on('backups.create', () => {
        const b = { id: 'b3', path: '/data/backups/b3.db', bytes: 2_600_000, time: '2026-12-06T12:00:00Z' };
        backups.unshift(b);
        return b;
      })
      .on('backups.restore', () => ({ kept: { id: 'b4', path: '/data/backups/b4.db', bytes: 1, time: '2026-12-06T12:01:00Z' } }));
    return set;
  }

  it('saves the archive, cleanup and backup settings and the workflow review default', async () => {
    const set = settingsEngine({ 'backups.daily': null });
    render(<Settings />);
    const archive = (await screen.findByRole('spinbutton', { name: 'Archive projects not opened for (days)' })) as HTMLInputElement;
    expect(archive.value).toBe('30');
    fireEvent.change(archive, { target: { value: '0' } });
    fireEvent.blur(archive);
    await waitFor(() => expect(set.archive_after_days).toBe('0'));
    const clean = screen.getByRole('spinbutton', { name: 'Clean up projects archived for (days)' });
    fireEvent.change(clean, { target: { value: '90' } });
    fireEvent.keyDown(clean, { key: 'Enter' });
    await waitFor(() => expect(set.cleanup_after_days).toBe('90'));
    const daily = screen.getByRole('checkbox', { name: 'Back up the database daily' }) as HTMLInputElement;
    expect(daily.checked).toBe(true);
    fireEvent.click(daily);
    await waitFor(() => expect(set['backups.daily']).toBe('false'));
    await waitFor(() => expect(daily.checked).toBe(false));
    const keep = screen.getByRole('spinbutton', { name: 'Backups to keep' });
    fireEvent.change(keep, { target: { value: '3' } });
    fireEvent.blur(keep);
    await waitFor(() => expect(set['backups.keep']).toBe('3'));
    const review = screen.getByRole('checkbox', { name: 'Review workflow changes before they are committed' }) as HTMLInputElement;
    expect(review.checked).toBe(false);
    fireEvent.click(review);
    await waitFor(() => expect(set['workflows.review']).toBe('true'));
    await waitFor(() => expect(review.checked).toBe(true));
  });

  it('backs up now, and restores a backup only after confirming', async () => {
    settingsEngine();
    render(<Settings />);
    const table = await screen.findByRole('table', { name: 'Backups' });
    await within(table).findByRole('button', { name: 'Restore the backup b2' });
    fireEvent.click(screen.getByRole('button', { name: 'Back up now' }));
    expect((await screen.findByRole('status')).textContent).toContain('Backed up (2.6 MB) to /data/backups/b3.db');
    await within(table).findByRole('button', { name: 'Restore the backup b3' });
    fireEvent.click(within(table).getByRole('button', { name: 'Restore the backup b2' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Restore this backup' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(engine.callsOf('backups.restore')).toEqual([]);
    fireEvent.click(within(table).getByRole('button', { name: 'Restore the backup b2' }));
    fireEvent.click(within(screen.getByRole('alertdialog', { name: 'Restore this backup' })).getByRole('button', { name: 'Restore' }));
    await waitFor(() => expect(engine.callsOf('backups.restore')).toEqual([{ id: 'b2' }]));
    expect((await screen.findByText(/kept as the backup b4/)).textContent).toBeTruthy();
  });

  it('a damaged backup is refused in the server’s words', async () => {
    settingsEngine();
    engine.on('backups.restore', () => {
      throw new EngineError('the backup b2 is damaged (integrity check failed): nothing was changed', -32602, 'invalid_input');
    });
    render(<Settings />);
    fireEvent.click(await screen.findByRole('button', { name: 'Restore the backup b2' }));
    fireEvent.click(within(screen.getByRole('alertdialog', { name: 'Restore this backup' })).getByRole('button', { name: 'Restore' }));
    expect((await screen.findByText(/the backup b2 is damaged/)).getAttribute('role')).toBe('alert');
  });

  it('cleans up archived projects after confirming the list of what goes', async () => {
    settingsEngine();
    engine
      .on('projects.cleanup_preview', () => [{ project_id: 'p9', name: 'ancient', path: '/code/ancient', archived_at: '2026-01-01T00:00:00Z', sessions: 4, messages: 120, workflows: 2 }])
      .on('projects.cleanup', (p) => ({ removed: p.ids }));
    render(<Settings />);
    fireEvent.click(await screen.findByRole('button', { name: 'Clean up now…' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Clean up archived projects' });
    expect(within(dialog).getByRole('list', { name: 'Projects to clean up' }).textContent).toContain('ancient');
    expect(dialog.textContent).toContain('4 chats, 120 messages, 2 workflows');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Remove the records of 1 project' }));
    await waitFor(() => expect(engine.callsOf('projects.cleanup')).toEqual([{ ids: ['p9'] }]));
    expect((await screen.findByText(/Removed Atelier's records of 1 project/)).textContent).toContain('files are untouched');
  });
});
