import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { McpServer } from '../protocol/generated';

afterEach(cleanup);

const server = (patch: Partial<McpServer>): McpServer => ({
  name: 'everything',
  transport: 'stdio',
  command: 'npx',
  args: ['-y', '@modelcontextprotocol/server-everything'],
  url: null,
  enabled: true,
  status: 'ready',
  error: null,
  tools: [{ name: 'echo', description: 'Echoes back the input', input_schema: {} }],
  restarts: 0,
  trusted: false,
  sandbox: false,
  project_id: null,
  origin: 'user',
  env_keys: ['GITHUB_TOKEN'],
  header_keys: [],
  stderr_tail: [],
  pid: 42,
  ...patch,
});

/** `McpServers` with a stand-in for `../api` that answers `mcp.list` with `servers`. */
async function mcpWith(servers: McpServer[]) {
  vi.resetModules();
  const call = vi.fn((method: string) => Promise.resolve(method === 'mcp.list' || method === 'mcp.import' ? servers : servers[0]));
  vi.doMock('../api', () => ({
    client: { call },
    useLoad: (load: () => Promise<unknown>) => {
      void load();
      return { data: servers, error: null, reload: () => undefined };
    },
    useTopic: () => undefined,
    errorText: (e: unknown) => (e instanceof Error ? e.message : String(e)),
  }));
  vi.doMock('../desktop', () => ({ ask: () => Promise.resolve(true) }));
  const mod = await import('./McpServers');
  render(<mod.McpServers />);
  return { call, mod };
}

describe('MCP servers in Settings', () => {
  it('reads NAME=VALUE lines and command lines, naming a bad line but never its value', async () => {
    const { mod } = await mcpWith([]);
    expect(mod.parsePairs('A=1\n\nB = x=y\n', 'Environment')).toEqual({ A: '1', 'B': ' x=y' });
    expect(() => mod.parsePairs('TOKEN_WITHOUT_VALUE', 'Environment')).toThrow('Environment line 1 is not NAME=VALUE');
    expect(mod.splitCommand('node "/path with space/index.js" stdio')).toEqual(['node', '/path with space/index.js', 'stdio']);
  });

  it('shows each server with its status, tools, last error and stderr tail', async () => {
    await mcpWith([
      server({}),
      server({ name: 'broken', status: 'error', error: 'the server exited with code 3 during start-up', stderr_tail: ['GITHUB_TOKEN is not set'], tools: [], pid: null }),
    ]);
    expect(screen.getByLabelText('MCP server everything').textContent).toContain('1 tool');
    expect(screen.getAllByRole('img', { name: 'status ready' })).toHaveLength(1);
    expect(screen.getByRole('img', { name: 'status error' })).toBeTruthy();
    expect(screen.getByText('the server exited with code 3 during start-up')).toBeTruthy();
    expect(screen.getByLabelText('stderr of broken').textContent).toBe('GITHUB_TOKEN is not set');
    expect(screen.getByLabelText('MCP server everything').textContent).toContain('in the keychain: GITHUB_TOKEN');
  });

  it('adds a stdio server with its environment, and switches one off, trusts and restarts it', async () => {
    const { call } = await mcpWith([server({})]);
    fireEvent.change(screen.getByLabelText('Server name'), { target: { value: 'fs' } });
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: 'npx -y @modelcontextprotocol/server-filesystem /tmp' } });
    fireEvent.change(screen.getByLabelText('Environment'), { target: { value: 'TOKEN=s3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add and start' }));
    await waitFor(() =>
      expect(call).toHaveBeenCalledWith('mcp.add', {
        name: 'fs',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'],
        env: { TOKEN: 's3cret' },
        trusted: false,
      }),
    );
    fireEvent.click(screen.getByLabelText('Enable everything'));
    expect(call).toHaveBeenCalledWith('mcp.set_enabled', { name: 'everything', enabled: false });
    fireEvent.click(screen.getByLabelText('Trust everything'));
    expect(call).toHaveBeenCalledWith('mcp.update', { name: 'everything', trusted: true });
    fireEvent.click(screen.getByRole('button', { name: 'Restart everything' }));
    expect(call).toHaveBeenCalledWith('mcp.restart', { name: 'everything' });
    fireEvent.click(screen.getByRole('button', { name: 'Remove everything' }));
    await waitFor(() => expect(call).toHaveBeenCalledWith('mcp.remove', { name: 'everything' }));
  });

  it('imports an mcpServers document', async () => {
    const { call } = await mcpWith([]);
    expect(screen.getByText('No MCP servers yet.')).toBeTruthy();
    const json = '{"mcpServers": {"fs": {"command": "npx"}}}';
    fireEvent.change(screen.getByLabelText('MCP servers JSON'), { target: { value: json } });
    fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    await waitFor(() => expect(call).toHaveBeenCalledWith('mcp.import', { json }));
  });
});
