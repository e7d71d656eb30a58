import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import ReactMarkdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { client, errorText, useLoad, useTopic } from '../api';
import type { ContextUsage, Event, Message, Project, SearchHit, Session } from '../protocol/generated';

function CodeBlock({ children }: { children?: ReactNode }) {
  const ref = useRef<HTMLPreElement>(null);
  const [copied, setCopied] = useState(false);
  return (
    <div className="code">
      <button
        className="copy"
        aria-label="Copy code"
        onClick={() => {
          void navigator.clipboard?.writeText(ref.current?.innerText ?? '').then(() => setCopied(true));
          setTimeout(() => setCopied(false), 1500);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

export function MessageView({ message }: { message: Message }) {
  return (
    <article className={`msg ${message.role} ${message.status}`} aria-label={`${message.role} message`}>
      <div className="who">
        {message.role}
        {message.status === 'streaming' ? ' · writing…' : ''}
        {message.status === 'interrupted' ? ' · stopped' : ''}
      </div>
      {message.reasoning ? (
        <details>
          <summary>Reasoning</summary>
          <pre className="reasoning">{message.reasoning}</pre>
        </details>
      ) : null}
      <div className="body">
        <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeHighlight]} components={{ pre: CodeBlock }}>
          {message.content}
        </ReactMarkdown>
      </div>
      {message.error ? (
        <p className="error" role="alert">
          {message.error}
        </p>
      ) : null}
    </article>
  );
}

function Search({ projectId, onClose }: { projectId: string; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!query.trim()) return;
    const id = setTimeout(() => {
      client.call<SearchHit[]>('messages.search', { query, project_id: projectId, limit: 20 }).then(
        (h) => {
          setHits(h);
          setError(null);
        },
        (e: unknown) => setError(errorText(e)),
      );
    }, 200);
    return () => clearTimeout(id);
  }, [query, projectId]);
  return (
    <div className="dialog" role="dialog" aria-label="Search history" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <input aria-label="Search" autoFocus value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search all chats…" />
      <button onClick={onClose}>Close</button>
      {error ? <p className="error">{error}</p> : null}
      <ul>
        {hits.map((h) => (
          <li key={h.message.id}>
            <span className="muted">{h.message.role}</span> {h.snippet}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Chat({ project }: { project: Project }) {
  const sessions = useLoad(() => client.call<Session[]>('sessions.list', { project_id: project.id }), [project.id]);
  const [session, setSession] = useState<Session | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [usage, setUsage] = useState<ContextUsage | null>(null);
  const [searching, setSearching] = useState(false);
  const bottom = useRef<HTMLDivElement>(null);

  // The newest session, or a new one for a project without any.
  useEffect(() => {
    if (!sessions.data || session) return;
    if (sessions.data.length > 0) setSession(sessions.data[0]);
    else
      client.call<Session>('sessions.create', { project_id: project.id }).then(setSession, (e: unknown) => setError(errorText(e)));
  }, [sessions.data, session, project.id]);

  const history = useLoad(() => (session ? client.call<Message[]>('messages.list', { session_id: session.id, limit: 200 }) : Promise.resolve([])), [session?.id]);
  useEffect(() => {
    if (history.data) setMessages(history.data);
  }, [history.data]);

  const onEvent = useCallback(
    (e: Event) => {
      const data = e.data as Record<string, unknown>;
      switch (e.type) {
        case 'message.created':
        case 'message.completed': {
          const m = data.message as Message;
          setMessages((ms) => (ms.some((x) => x.id === m.id) ? ms.map((x) => (x.id === m.id ? m : x)) : [...ms, m]));
          break;
        }
        case 'message.delta': {
          const { message_id, delta, reasoning } = data as { message_id: string; delta?: string; reasoning?: string };
          setMessages((ms) =>
            ms.map((x) => (x.id === message_id ? { ...x, content: x.content + (delta ?? ''), reasoning: reasoning ? (x.reasoning ?? '') + reasoning : x.reasoning } : x)),
          );
          break;
        }
        case 'message.failed': {
          const { message_id, error: failure } = data as { message_id: string; error: { message: string } };
          setMessages((ms) => ms.map((x) => (x.id === message_id ? { ...x, status: 'failed', error: failure.message } : x)));
          break;
        }
        case 'context.usage':
          setUsage(data as unknown as ContextUsage);
          break;
        case 'stream.gap':
          history.reload();
          break;
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  useTopic(session ? `session/${session.id}` : null, onEvent);

  useEffect(() => bottom.current?.scrollIntoView?.({ block: 'end' }), [messages]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSearching(true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const streaming = messages.some((m) => m.status === 'streaming');
  const send = async () => {
    if (!session || !draft.trim()) return;
    try {
      await client.call('messages.send', { session_id: session.id, content: draft });
      setDraft('');
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const stop = () => session && client.call('messages.stop', { session_id: session.id }).catch((e: unknown) => setError(errorText(e)));

  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-head">
        <select
          aria-label="Session"
          value={session?.id ?? ''}
          onChange={(e) => setSession(sessions.data?.find((s) => s.id === e.target.value) ?? null)}
        >
          {(sessions.data ?? []).map((s) => (
            <option key={s.id} value={s.id}>
              {s.title || s.id}
            </option>
          ))}
          {session && !sessions.data?.some((s) => s.id === session.id) ? <option value={session.id}>{session.title || 'New chat'}</option> : null}
        </select>
        <button
          onClick={() =>
            client.call<Session>('sessions.create', { project_id: project.id }).then((s) => {
              setSession(s);
              sessions.reload();
            })
          }
        >
          New chat
        </button>
        <button onClick={() => setSearching(true)} aria-label="Search history (Ctrl+K)">
          Search
        </button>
        {usage ? (
          <meter aria-label="Context used" min={0} max={usage.limit_tokens} value={usage.used_tokens} title={`${usage.used_tokens} of ${usage.limit_tokens} tokens`} />
        ) : null}
      </div>
      {searching ? <Search projectId={project.id} onClose={() => setSearching(false)} /> : null}
      <div className="messages" aria-live="polite">
        {messages.map((m) => (
          <MessageView key={m.id} message={m} />
        ))}
        <div ref={bottom} />
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="composer">
        <textarea
          aria-label="Message"
          value={draft}
          placeholder="Ask something (Ctrl+Enter sends)"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button onClick={() => void send()} disabled={!draft.trim() || streaming}>
          Send
        </button>
        <button onClick={() => void stop()} disabled={!streaming}>
          Stop
        </button>
      </div>
    </section>
  );
}
