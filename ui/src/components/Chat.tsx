import { memo, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { expandMentions, splitAttachments } from '../attach';
import { Check, Copy, Pencil, Plus, RotateCcw, Search as SearchIcon, Send, Square, Trash2 } from 'lucide-react';
import { useVirtualizer } from '@tanstack/react-virtual';
import ReactMarkdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { client, desktop, errorText, useLoad, useTopic } from '../api';
import { openExternal } from '../desktop';
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
        {copied ? <Check size={12} /> : <Copy size={12} />}
        {copied ? 'Copied' : 'Copy'}
      </button>
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

const WEB_LINK = /^https?:\/\//i;

/**
 * A link in a reply. The browser opens it in a new tab; the desktop app never lets it navigate
 * its own window (that would replace Atelier): http(s) links open in the system browser.
 */
function Link({ href, children }: { href?: string; children?: ReactNode }) {
  if (!desktop) {
    return (
      <a href={href} target="_blank" rel="noreferrer">
        {children}
      </a>
    );
  }
  return (
    <a
      href={href}
      onClick={(e) => {
        e.preventDefault();
        if (href && WEB_LINK.test(href)) void openExternal(href).catch(() => undefined);
      }}
    >
      {children}
    </a>
  );
}

const MARKDOWN_COMPONENTS = { pre: CodeBlock, a: Link };

/** Streaming replies longer than this show as plain text until they complete… */
const PLAIN_WHILE_STREAMING = 16_384;
/** …and replies longer than this always do (parsing them as markdown takes seconds). */
const PLAIN_ALWAYS = 131_072;
/** Messages loaded at a time; older ones load when scrolled to. */
const PAGE = 200;

const CHUNK = 8192;

/** One fixed slice of a long text: unchanged slices are not rendered again. */
const Chunk = memo(function Chunk({ text }: { text: string }) {
  return <div>{text}</div>;
});

/** Where the slice starting at `at` ends: after a newline, else after a space, near `at + CHUNK`. */
function sliceEnd(text: string, at: number): number {
  const limit = at + CHUNK;
  if (limit >= text.length) return text.length;
  const tail = text.slice(limit - 2048, limit);
  const newline = tail.lastIndexOf('\n');
  if (newline >= 0) return limit - 2048 + newline + 1;
  const space = tail.lastIndexOf(' ');
  if (space >= 0) return limit - 2048 + space + 1;
  // Never split a surrogate pair between two text nodes.
  return /[\uD800-\uDBFF]/.test(text[limit - 1]) ? limit + 1 : limit;
}

/**
 * A long text as blocks of about 8 KiB, cut after a newline or a space. As a reply streams in,
 * only the last block changes: the browser lays out that block again, not the whole reply
 * (one paragraph of 500 KB took most of every frame).
 */
export function PlainText({ text }: { text: string }) {
  const chunks: string[] = [];
  for (let at = 0; at < text.length; ) {
    const end = sliceEnd(text, at);
    chunks.push(text.slice(at, end));
    at = end;
  }
  return (
    <div className="plain">
      {chunks.map((c, i) => (
        <Chunk key={i} text={c} />
      ))}
    </div>
  );
}

/**
 * One message. Memoized: a streamed delta replaces only its own message object, so the other
 * messages on screen are not parsed as markdown again on every frame.
 */
export const MessageView = memo(function MessageView({ message, onRetry }: { message: Message; onRetry?: () => void }) {
  const shown = message.role === 'user' ? splitAttachments(message.content) : { text: message.content, attached: null, labels: [] };
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
        {shown.text.length > (message.status === 'streaming' ? PLAIN_WHILE_STREAMING : PLAIN_ALWAYS) ? (
          // Re-parsing a long reply's markdown on every token would stall typing.
          <PlainText text={shown.text} />
        ) : (
          <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeHighlight]} components={MARKDOWN_COMPONENTS}>
            {shown.text}
          </ReactMarkdown>
        )}
      </div>
      {shown.attached !== null ? (
        // What `@path` and `@codebase` attached, folded: one line in the transcript.
        <details className="attachments">
          <summary>Attached: {shown.labels.length ? shown.labels.join('; ') : 'context'}</summary>
          <PlainText text={shown.attached} />
        </details>
      ) : null}
      {message.error ? (
        <p className="error" role="alert">
          {message.error}
        </p>
      ) : null}
      {onRetry ? (
        <button onClick={onRetry} title="Write this reply again (the failed one stays in the history)">
          <RotateCcw size={14} />
          Retry
        </button>
      ) : null}
    </article>
  );
});

function Search({
  projectId,
  sessionIds,
  onClose,
  onPick,
}: {
  projectId: string;
  /** This project's sessions: hits in them open here; others are in another project. */
  sessionIds: Set<string>;
  onClose: () => void;
  onPick: (hit: SearchHit) => void;
}) {
  const [query, setQuery] = useState('');
  const [everywhere, setEverywhere] = useState(false);
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!query.trim()) return;
    const id = setTimeout(() => {
      client.call<SearchHit[]>('messages.search', everywhere ? { query, limit: 20 } : { query, project_id: projectId, limit: 20 }).then(
        (h) => {
          setHits(h);
          setError(null);
        },
        (e: unknown) => setError(errorText(e)),
      );
    }, 200);
    return () => clearTimeout(id);
  }, [query, projectId, everywhere]);
  return (
    <div className="dialog" role="dialog" aria-label="Search history" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <input aria-label="Search" autoFocus value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search all chats…" />
      <label>
        <input type="checkbox" checked={everywhere} onChange={(e) => setEverywhere(e.target.checked)} /> all projects
      </label>
      <button onClick={onClose}>Close</button>
      {error ? <p className="error">{error}</p> : null}
      {query.trim() && hits.length === 0 && !error ? <p className="muted">No messages match.</p> : null}
      <ul>
        {hits.map((h) => (
          <li key={h.message.id}>
            {sessionIds.has(h.message.session_id) ? (
              <button className="link" onClick={() => onPick(h)} aria-label={`Open the chat of: ${h.snippet}`}>
                <span className="muted">{h.message.role}</span> {h.snippet}
              </button>
            ) : (
              <span>
                <span className="muted">{h.message.role} · in another project</span> {h.snippet}
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** `searchSignal`: bumped to open the history search (Ctrl/Cmd+K). */
export function Chat({ project, searchSignal = 0 }: { project: Project; searchSignal?: number }) {
  const sessions = useLoad(() => client.call<Session[]>('sessions.list', { project_id: project.id }), [project.id]);
  const [session, setSession] = useState<Session | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [usage, setUsage] = useState<ContextUsage | null>(null);
  const [searching, setSearching] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  // Another session's context usage says nothing about this one.
  useEffect(() => setUsage(null), [session?.id]);

  // The newest session, or a new one for a project without any.
  useEffect(() => {
    if (!sessions.data || session) return;
    if (sessions.data.length > 0) setSession(sessions.data[0]);
    else
      client.call<Session>('sessions.create', { project_id: project.id }).then(setSession, (e: unknown) => setError(errorText(e)));
  }, [sessions.data, session, project.id]);

  /** The title being typed for the open chat; `null` while not renaming. */
  const [renaming, setRenaming] = useState<string | null>(null);
  const rename = async () => {
    if (!session || renaming === null) return;
    try {
      setSession(await client.call<Session>('sessions.rename', { id: session.id, title: renaming }));
      sessions.reload();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
    setRenaming(null);
  };

  const [confirmDelete, setConfirmDelete] = useState(false);
  const deleteSession = async () => {
    if (!session) return;
    setConfirmDelete(false);
    try {
      await client.call('sessions.delete', { id: session.id });
      // The next newest chat, or a new one: never the list's stale copy of the deleted chat.
      const rest = (sessions.data ?? []).filter((s) => s.id !== session.id);
      setSession(rest[0] ?? (await client.call<Session>('sessions.create', { project_id: project.id })));
      sessions.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const history = useLoad(() => (session ? client.call<Message[]>('messages.list', { session_id: session.id, limit: PAGE }) : Promise.resolve([])), [session?.id]);
  const [hasOlder, setHasOlder] = useState(false);
  const loadingOlder = useRef(false);
  useEffect(() => {
    if (!history.data) return;
    setMessages(history.data);
    setHasOlder(history.data.length === PAGE);
  }, [history.data]);

  const pendingDeltas = useRef(new Map<string, { content: string; reasoning: string }>());
  const frame = useRef<number | null>(null);
  const flush = useCallback(() => {
    frame.current = null;
    const pending = pendingDeltas.current;
    if (pending.size === 0) return;
    pendingDeltas.current = new Map();
    setMessages((ms) =>
      ms.map((x) => {
        const d = pending.get(x.id);
        return d ? { ...x, content: x.content + d.content, reasoning: d.reasoning ? (x.reasoning ?? '') + d.reasoning : x.reasoning } : x;
      }),
    );
  }, []);
  const flushSoon = useCallback(() => {
    frame.current ??= requestAnimationFrame(flush);
  }, [flush]);
  const onEvent = useCallback(
    (e: Event) => {
      const data = e.data as Record<string, unknown>;
      switch (e.type) {
        case 'message.created':
        case 'message.completed': {
          // Deltas still waiting belong before the final text.
          flush();
          const m = data.message as Message;
          setMessages((ms) => (ms.some((x) => x.id === m.id) ? ms.map((x) => (x.id === m.id ? m : x)) : [...ms, m]));
          // For screen readers: that the reply finished (each streamed token is not announced).
          if (e.type === 'message.completed' && m.role === 'assistant') setAnnouncement(m.status === 'interrupted' ? 'The reply was stopped.' : 'The reply is complete.');
          break;
        }
        case 'message.delta': {
          // Deltas are applied once per frame: a fast stream re-renders 60 times a second, not
          // once per token.
          const { message_id, delta, reasoning } = data as { message_id: string; delta?: string; reasoning?: string };
          const p = pendingDeltas.current;
          const entry = p.get(message_id) ?? { content: '', reasoning: '' };
          entry.content += delta ?? '';
          entry.reasoning += reasoning ?? '';
          p.set(message_id, entry);
          flushSoon();
          break;
        }
        case 'message.failed': {
          const { message_id, error: failure } = data as { message_id: string; error: { message: string } };
          setMessages((ms) => ms.map((x) => (x.id === message_id ? { ...x, status: 'failed', error: failure.message } : x)));
          setAnnouncement(`The reply failed: ${failure.message}`);
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
    [flush, flushSoon],
  );
  useTopic(session ? `session/${session.id}` : null, onEvent);

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 96,
    overscan: 6,
    getItemKey: (i) => messages[i]?.id ?? i,
  });
  // Follow the conversation while the reader is at the bottom.
  const atBottom = useRef(true);
  useEffect(() => {
    if (atBottom.current && messages.length > 0) virtualizer.scrollToIndex(messages.length - 1, { align: 'end' });
  }, [messages, virtualizer]);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (el.scrollTop < 300 && hasOlder && !loadingOlder.current && session && messages.length > 0) {
      loadingOlder.current = true;
      client
        .call<Message[]>('messages.list', { session_id: session.id, before: messages[0].id, limit: PAGE })
        .then(
          (older) => {
            setHasOlder(older.length === PAGE);
            setMessages((ms) => [...older.filter((o) => !ms.some((m) => m.id === o.id)), ...ms]);
            // Keep the message the reader was looking at in place.
            requestAnimationFrame(() => virtualizer.scrollToIndex(older.length, { align: 'start' }));
          },
          (e: unknown) => setError(errorText(e)),
        )
        .finally(() => {
          loadingOlder.current = false;
        });
    }
  };

  // Ctrl/Cmd+K (handled by the workspace, which shows this panel) opens the search.
  useEffect(() => {
    if (searchSignal) setSearching(true);
  }, [searchSignal]);

  const streaming = messages.some((m) => m.status === 'streaming');
  const send = async () => {
    if (!session || !draft.trim()) return;
    // Sending jumps to the end of the conversation and follows the reply.
    atBottom.current = true;
    if (messages.length > 0) virtualizer.scrollToIndex(messages.length - 1, { align: 'end' });
    try {
      const content = await expandMentions(client, project.id, draft);
      await client.call('messages.send', { session_id: session.id, content });
      setDraft('');
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const stop = () => session && client.call('messages.stop', { session_id: session.id }).catch((e: unknown) => setError(errorText(e)));
  const sessionId = session?.id;
  const retry = useCallback(() => {
    if (!sessionId) return;
    atBottom.current = true;
    client.call('messages.retry', { session_id: sessionId }).then(
      () => setError(null),
      (e: unknown) => setError(errorText(e)),
    );
  }, [sessionId]);
  // The last reply failed (or a stop of the app cut it off before it began): it can be retried.
  const last = messages.at(-1);
  const retryable = !!last && last.role === 'assistant' && (last.status === 'failed' || (last.status === 'interrupted' && !last.content));

  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-head">
        {renaming !== null ? (
          <input
            aria-label="Chat title"
            autoFocus
            value={renaming}
            onChange={(e) => setRenaming(e.target.value)}
            onBlur={() => setRenaming(null)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void rename();
              else if (e.key === 'Escape') setRenaming(null);
            }}
          />
        ) : (
          <select
            aria-label="Session"
            value={session?.id ?? ''}
            onChange={(e) => setSession(sessions.data?.find((s) => s.id === e.target.value) ?? null)}
            onDoubleClick={() => session && setRenaming(session.title)}
          >
            {(sessions.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.title || s.id}
              </option>
            ))}
            {session && !sessions.data?.some((s) => s.id === session.id) ? <option value={session.id}>{session.title || 'New chat'}</option> : null}
          </select>
        )}
        <button onClick={() => session && setRenaming(session.title)} disabled={!session || renaming !== null} aria-label="Rename chat" title="Rename this chat">
          <Pencil size={14} />
        </button>
        <button
          onClick={() =>
            client.call<Session>('sessions.create', { project_id: project.id }).then((s) => {
              setSession(s);
              sessions.reload();
            })
          }
        >
          <Plus size={14} />
          New chat
        </button>
        {confirmDelete ? (
          <span className="confirm" role="group" aria-label="Confirm deleting this chat">
            Delete this chat and its messages?
            <button className="danger" onClick={() => void deleteSession()}>
              Delete
            </button>
            <button onClick={() => setConfirmDelete(false)}>Keep</button>
          </span>
        ) : (
          <button onClick={() => setConfirmDelete(true)} disabled={!session} aria-label="Delete chat">
            <Trash2 size={14} />
          </button>
        )}
        <button onClick={() => setSearching(true)} aria-label="Search history (Ctrl+K)">
          <SearchIcon size={14} />
          Search
        </button>
        {usage ? (
          <span className="usage" title={`${usage.used_tokens} of ${usage.limit_tokens} tokens of context used`}>
            <meter aria-label="Context used" min={0} max={usage.limit_tokens} value={usage.used_tokens} />{' '}
            <span className="muted">{Math.round((100 * usage.used_tokens) / Math.max(1, usage.limit_tokens))}%</span>
          </span>
        ) : null}
      </div>
      {searching ? (
        <Search
          projectId={project.id}
          sessionIds={new Set([...(sessions.data ?? []).map((x) => x.id), ...(session ? [session.id] : [])])}
          onClose={() => setSearching(false)}
          onPick={(hit) => {
            const s = sessions.data?.find((x) => x.id === hit.message.session_id);
            if (s) setSession(s);
            setSearching(false);
          }}
        />
      ) : null}
      <div className="sr-only" aria-live="polite">
        {announcement}
      </div>
      <div className="messages" ref={scroller} onScroll={onScroll} aria-label="Messages">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
            >
              <MessageView message={messages[item.index]} onRetry={retryable && item.index === messages.length - 1 ? retry : undefined} />
            </div>
          ))}
        </div>
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
          placeholder="Ask something (Ctrl+Enter sends; @path attaches a file, @codebase the best matches)"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button onClick={() => void send()} disabled={!draft.trim() || streaming}>
          <Send size={14} />
          Send
        </button>
        <button onClick={() => void stop()} disabled={!streaming}>
          <Square size={14} />
          Stop
        </button>
      </div>
    </section>
  );
}
