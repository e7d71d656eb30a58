import { useCallback, useState } from 'react';
import { client, errorText, useLoad, useTopic } from '../api';
import { ask } from '../desktop';
import type { Event, McpServer, McpServerHealth } from '../protocol/generated';

/** `KEY=VALUE` lines (blank lines skipped) as an object; the error names the line, never a value. */
export function parsePairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`${what} line ${i + 1} is not NAME=VALUE`);
    out[line.slice(0, at).trim()] = line.slice(at + 1);
  });
  return out;
}

/** Splits a command line into words, keeping "quoted words" together. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2] ?? m[3] ?? '');
  return words;
}

const DOT: Record<string, string> = { ready: 'ok', starting: 'busy', error: 'bad', stopped: 'off' };

function AddServer({ onAdded }: { onAdded: () => void }) {
  const [kind, setKind] = useState<'stdio' | 'http'>('stdio');
  const [name, setName] = useState('');
  const [command, setCommand] = useState('');
  const [url, setUrl] = useState('');
  const [pairs, setPairs] = useState('');
  const [trusted, setTrusted] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const add = async () => {
    try {
      const words = splitCommand(command);
      const values = parsePairs(pairs, kind === 'stdio' ? 'Environment' : 'Headers');
      const params =
        kind === 'stdio'
          ? { name: name.trim(), command: words[0] ?? '', args: words.slice(1), env: values, trusted }
          : { name: name.trim(), url: url.trim(), headers: values, trusted };
      await client.call('mcp.add', params);
      setName('');
      setCommand('');
      setUrl('');
      setPairs('');
      setError(null);
      onAdded();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <fieldset className="mcp-add">
      <legend>Add a server</legend>
      <div className="row">
        <label>
          Name <input aria-label="Server name" value={name} onChange={(e) => setName(e.target.value)} placeholder="github" />
        </label>
        <label>
          <input type="radio" name="mcp-kind" checked={kind === 'stdio'} onChange={() => setKind('stdio')} /> command (stdio)
        </label>
        <label>
          <input type="radio" name="mcp-kind" checked={kind === 'http'} onChange={() => setKind('http')} /> URL (Streamable HTTP)
        </label>
      </div>
      {kind === 'stdio' ? (
        <input aria-label="Command" value={command} onChange={(e) => setCommand(e.target.value)} placeholder="npx -y @modelcontextprotocol/server-filesystem /path/to/folder" />
      ) : (
        <input aria-label="URL" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://127.0.0.1:3001/mcp" />
      )}
      <textarea
        aria-label={kind === 'stdio' ? 'Environment' : 'Headers'}
        value={pairs}
        onChange={(e) => setPairs(e.target.value)}
        rows={2}
        placeholder={kind === 'stdio' ? 'GITHUB_TOKEN=… (one NAME=VALUE a line; kept in the OS keychain)' : 'Authorization=Bearer … (one NAME=VALUE a line; kept in the OS keychain)'}
      />
      <div className="row">
        <label title="Calls to a trusted server's tools need no approval">
          <input type="checkbox" checked={trusted} onChange={(e) => setTrusted(e.target.checked)} /> Trusted (its tools run without asking)
        </label>
        <button onClick={() => void add()} disabled={!name.trim() || (kind === 'stdio' ? !command.trim() : !url.trim())}>
          Add and start
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function ImportJson({ onImported }: { onImported: () => void }) {
  const [json, setJson] = useState('');
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const run = async () => {
    try {
      const servers = await client.call<McpServer[]>('mcp.import', { json });
      setJson('');
      setNote({ text: `Imported ${servers.length} server${servers.length === 1 ? '' : 's'}: ${servers.map((s) => s.name).join(', ')}.`, error: false });
      onImported();
    } catch (e) {
      setNote({ text: errorText(e), error: true });
    }
  };
  return (
    <details className="mcp-import">
      <summary>Import JSON (Claude Desktop, Cursor, .mcp.json)</summary>
      <textarea aria-label="MCP servers JSON" value={json} onChange={(e) => setJson(e.target.value)} rows={6} placeholder='{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}}}' />
      <button onClick={() => void run()} disabled={!json.trim()}>
        Import
      </button>
      {note ? (
        <p role={note.error ? 'alert' : 'status'} className={note.error ? 'error' : 'muted'}>
          {note.text}
        </p>
      ) : null}
    </details>
  );
}

function ServerRow({ server, health, onChanged }: { server: McpServer; health: McpServerHealth | undefined; onChanged: (s?: McpServer) => void }) {
  const [error, setError] = useState<string | null>(null);
  const act = (p: Promise<unknown>) =>
    p.then(
      (s) => {
        setError(null);
        onChanged(s && typeof s === 'object' && 'name' in s ? (s as McpServer) : undefined);
      },
      (e: unknown) => setError(errorText(e)),
    );
  const target = server.transport === 'stdio' ? [server.command, ...(server.args ?? [])].join(' ') : server.url;
  return (
    <li className="mcp-server" aria-label={`MCP server ${server.name}`}>
      <div className="row">
        <span className={`dot ${DOT[server.status] ?? 'off'}`} role="img" aria-label={`status ${server.status}`} title={server.status} />
        <strong>{server.name}</strong>
        <span className="muted">{server.status}</span>
        {health && server.status === 'ready' ? <span className="muted">{health.ok ? `ping ${health.latency_ms ?? 0} ms` : 'no answer to ping'}</span> : null}
        {server.origin === 'project_file' ? <span className="muted">from the project's .mcp.json</span> : null}
        <label>
          <input type="checkbox" aria-label={`Enable ${server.name}`} checked={server.enabled} onChange={(e) => void act(client.call('mcp.set_enabled', { name: server.name, enabled: e.target.checked }))} /> enabled
        </label>
        <label title="Calls to a trusted server's tools need no approval">
          <input type="checkbox" aria-label={`Trust ${server.name}`} checked={server.trusted} onChange={(e) => void act(client.call('mcp.update', { name: server.name, trusted: e.target.checked }))} /> trusted
        </label>
        <button aria-label={`Restart ${server.name}`} disabled={!server.enabled} onClick={() => void act(client.call('mcp.restart', { name: server.name }))}>
          Restart
        </button>
        <button
          aria-label={`Remove ${server.name}`}
          onClick={async () => {
            if (await ask(`Remove the MCP server ${server.name}? Its stored environment and header values go too.`)) void act(client.call('mcp.remove', { name: server.name }));
          }}
        >
          Remove
        </button>
      </div>
      <div className="muted mcp-target">
        <code>{target}</code>
        {server.restarts ? ` · restarted ${server.restarts}×` : ''}
        {[...server.env_keys, ...server.header_keys].length ? ` · in the keychain: ${[...server.env_keys, ...server.header_keys].join(', ')}` : ''}
      </div>
      {server.error ? (
        <p className="error" role="alert">
          {server.error}
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {server.tools.length ? (
        <details>
          <summary>
            {server.tools.length} tool{server.tools.length === 1 ? '' : 's'}
          </summary>
          <ul aria-label={`Tools of ${server.name}`}>
            {server.tools.map((t) => (
              <li key={t.name}>
                <code>{t.name}</code> <span className="muted">{t.description}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {server.stderr_tail.length ? (
        <details>
          <summary>stderr</summary>
          <pre className="mcp-stderr" aria-label={`stderr of ${server.name}`}>
            {server.stderr_tail.join('\n')}
          </pre>
        </details>
      ) : null}
    </li>
  );
}

/** Settings → MCP servers: tools from Model Context Protocol servers for every agent. */
export function McpServers() {
  const list = useLoad(() => client.call<McpServer[]>('mcp.list'), []);
  const [live, setLive] = useState<Record<string, McpServer>>({});
  const [health, setHealth] = useState<Record<string, McpServerHealth>>({});
  const reload = list.reload;
  useTopic(
    'mcp',
    useCallback(
      (e: Event) => {
        if (e.type === 'mcp.server_status') {
          const server = (e.data as unknown as { server: McpServer }).server;
          setLive((l) => ({ ...l, [server.name]: server }));
        } else if (e.type === 'mcp.server_health') {
          const h = e.data as unknown as McpServerHealth;
          setHealth((hs) => ({ ...hs, [h.name]: h }));
        } else if (e.type === 'mcp.server_removed') {
          reload();
        }
      },
      [reload],
    ),
  );
  const changed = (s?: McpServer) => {
    if (s) setLive((l) => ({ ...l, [s.name]: s }));
    reload();
  };
  // The list as loaded, each server replaced by its latest status event.
  const servers = (list.data ?? []).map((s) => {
    const newer = live[s.name];
    return newer ?? s;
  });
  return (
    <section aria-labelledby="mcp-heading">
      <h2 id="mcp-heading">MCP servers</h2>
      <p className="muted">
        Tools from Model Context Protocol servers, for every agent (as <code>server.tool</code>). Calls need your approval unless the server is trusted. A project's <code>.mcp.json</code> is shown here when the project opens, but starts only once you enable it.
      </p>
      {list.error ? <p className="error">{list.error}</p> : null}
      <ul className="mcp-servers" aria-label="MCP servers">
        {servers.map((s) => (
          <ServerRow key={s.name} server={s} health={health[s.name]} onChanged={changed} />
        ))}
      </ul>
      {list.data && !servers.length ? <p className="muted">No MCP servers yet.</p> : null}
      <AddServer onAdded={reload} />
      <ImportJson onImported={reload} />
    </section>
  );
}
