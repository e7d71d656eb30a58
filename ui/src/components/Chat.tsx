import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { expandMentions, splitAttachments } from '../attach';
import { Check, Copy, Pencil, Plus, RotateCcw, Search as SearchIcon, Send, Square, Trash2 } from 'lucide-react';
import { useVirtualizer } from '@tanstack/react-virtual';
import ReactMarkdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { client, desktop, errorText, useLoad, useTopic } from '../api';
import { openExternal } from '../desktop';
import { PlainText } from './PlainText';
import { appendOutput, ToolCallView, type CallStatus } from './ToolCall';
import { ChangesBar } from './Changes';
import type {
  ContextUsage,
  Event,
  Message,
  Model,
  Project,
  SearchHit,
  Session,
  ToolCallEvent,
  ToolCallInfo,
  ToolDecision,
  ToolOutputEvent,
  ToolResultEvent,
  ToolStatus,
} from '../protocol/generated';

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

export { PlainText };

const MARKDOWN_COMPONENTS = { pre: CodeBlock, a: Link };

/** Streaming replies longer than this show as plain text until they complete… */
const PLAIN_WHILE_STREAMING = 16_384;
/** …and replies longer than this always do (parsing them as markdown takes seconds). */
const PLAIN_ALWAYS = 131_072;
/** Messages loaded at a time; older ones load when scrolled to. */
const PAGE = 200;

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

/** A summary that stands for older turns in the model's context: one line, unfolded on request. */
export const SummaryNote = memo(function SummaryNote({ message }: { message: Message }) {
  const [open, setOpen] = useState(false);
  return (
    <aside className="summary-note" aria-label="Summary of earlier messages">
      <button className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        Earlier messages were summarised
      </button>
      <span className="muted"> (they stay in the history; the model sees this summary instead)</span>
      {open ? (
        <div className="body">
          {message.content.length > PLAIN_ALWAYS ? (
            <PlainText text={message.content} />
          ) : (
            <ReactMarkdown remarkPlugins={[remarkGfm]} components={MARKDOWN_COMPONENTS}>
              {message.content}
            </ReactMarkdown>
          )}
        </div>
      ) : null}
    </aside>
  );
});

/**
 * The messages that open a session before the person writes: the agent's system message and its
 * seed messages (fixed text of the agent's definition, never model output). Only when the list
 * starts at the session's beginning (its system message).
 */
export function introOf(messages: Message[]): Message[] {
  if (messages[0]?.role !== 'system' || messages[0].kind) return [];
  let end = 1;
  while (end < messages.length && (messages[end].role === 'system' || messages[end].role === 'assistant') && !messages[end].tool_calls?.length && !messages[end].kind) end += 1;
  // A reply in progress before any user message is not a seed (none is, today): stop before it.
  while (end > 1 && messages[end - 1].status !== 'complete') end -= 1;
  return messages.slice(0, end);
}

/** The intro as one line ("About this agent"), its text unfolded on request. */
export function AboutAgent({ agent, intro }: { agent: string; intro: Message[] }) {
  const name = agent === 'assistant' ? 'Assistant' : agent.charAt(0).toUpperCase() + agent.slice(1);
  const greeting = intro.find((m) => m.role === 'assistant');
  return (
    <details className="about-agent">
      <summary>
        <span className="about-agent-name">About this agent: {name}</span>
        {greeting ? <span className="muted about-agent-greeting"> — {greeting.content}</span> : null}
      </summary>
      {intro.map((m) => (
        <div key={m.id} className="about-agent-part">
          <div className="muted about-agent-role">{m.role === 'system' ? 'Instructions the model gets (system prompt)' : 'Greeting'}</div>
          <PlainText text={m.content} />
        </div>
      ))}
    </details>
  );
}

/** What the live events said about one tool call (forgotten when another chat opens). */
interface LiveCall {
  /** From `tool.call`; `null` while only its output or result was seen. */
  call: ToolCallInfo | null;
  messageId: string | null;
  needsApproval: boolean;
  /** An answer is on its way to the engine: the buttons are disabled meanwhile. */
  deciding: boolean;
  /** Answered here: the buttons are gone. */
  decided: boolean;
  /** The loop was stopped before this call ended. */
  stopped: boolean;
  output: string;
  outputCut: boolean;
  result: { status: ToolStatus; content: string } | null;
}
const newLive = (): LiveCall => ({ call: null, messageId: null, needsApproval: false, deciding: false, decided: false, stopped: false, output: '', outputCut: false, result: null });

/**
 * The rows the transcript shows: `tool` messages fold into their call under the assistant
 * message that made it (a `tool` message whose call is not loaded stays a row of its own).
 */
function buildView(messages: Message[], live: Record<string, LiveCall>) {
  const callsOf = new Map<string, ToolCallInfo[]>();
  const known = new Set<string>();
  const results = new Map<string, { status: ToolStatus; content: string }>();
  let lastAssistant: string | null = null;
  let tailId: string | null = null;
  for (const m of messages) {
    if (m.role === 'tool') {
      if (m.tool_call_id) results.set(m.tool_call_id, { status: m.tool_status ?? 'ok', content: m.content });
      continue;
    }
    tailId = m.id;
    if (m.role === 'assistant') lastAssistant = m.id;
    const calls = m.tool_calls ?? [];
    if (calls.length) {
      callsOf.set(m.id, [...calls]);
      for (const c of calls) known.add(c.id);
    }
  }
  // Calls the events announced before (or without) their message's final form.
  const ids = new Set(messages.map((m) => m.id));
  for (const [id, l] of Object.entries(live)) {
    if (!l.call || known.has(id)) continue;
    const target = l.messageId && ids.has(l.messageId) ? l.messageId : lastAssistant;
    if (!target) continue;
    callsOf.set(target, [...(callsOf.get(target) ?? []), l.call]);
    known.add(id);
  }
  const rows = messages.filter((m) => m.role !== 'tool' || !m.tool_call_id || !known.has(m.tool_call_id));
  return { rows, callsOf, results, tailId };
}

/** One row of the transcript: a message (or a summary note) and, under it, its tool calls. */
function Row({
  message,
  onRetry,
  calls,
  statusOf,
  results,
  live,
  decide,
}: {
  message: Message | undefined;
  onRetry?: () => void;
  calls: ToolCallInfo[] | undefined;
  statusOf: (callId: string, message: Message) => CallStatus;
  results: Map<string, { status: ToolStatus; content: string }>;
  live: Record<string, LiveCall>;
  decide: (callId: string, decision: ToolDecision) => void;
}) {
  if (!message) return null;
  if (message.kind === 'summary') return <SummaryNote message={message} />;
  if (message.role === 'tool') {
    // A result whose call is on an older page, not loaded: shown as a call without arguments.
    const call = { id: message.tool_call_id ?? message.id, name: message.name ?? 'tool', arguments: null };
    return (
      <div className="tool-calls">
        <ToolCallView call={call} status={message.tool_status ?? 'ok'} result={message.content} />
      </div>
    );
  }
  return (
    <>
      <MessageView message={message} onRetry={onRetry} />
      {calls?.length ? (
        <div className="tool-calls">
          {calls.map((c) => {
            const status = statusOf(c.id, message);
            const l = live[c.id];
            const result = results.get(c.id) ?? l?.result ?? null;
            return (
              <ToolCallView
                key={c.id}
                call={c}
                status={status}
                output={l?.output}
                outputCut={l?.outputCut}
                result={result ? result.content : null}
                onDecide={status === 'waiting' ? decide : undefined}
                deciding={l?.deciding}
              />
            );
          })}
        </div>
      ) : null}
    </>
  );
}

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

/** The agents a chat can talk to (docs/protocol.md, `sessions.create`). */
export const CHAT_AGENTS: [string, string][] = [
  ['assistant', 'Assistant'],
  ['reviewer', 'Reviewer'],
];
/** Messages loaded per page while looking for a search hit older than what is loaded. */
const JUMP_PAGE = 1000;

/**
 * `searchSignal`: bumped to open the history search (Ctrl/Cmd+K). `newChat`: start a new chat now
 * (the palette's "New chat"); `onNewChatDone` says it was.
 */
export function Chat({ project, searchSignal = 0, newChat = false, onNewChatDone }: { project: Project; searchSignal?: number; newChat?: boolean; onNewChatDone?: () => void }) {
  const sessions = useLoad(() => client.call<Session[]>('sessions.list', { project_id: project.id }), [project.id]);
  const [session, setSession] = useState<Session | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [usage, setUsage] = useState<ContextUsage | null>(null);
  const [searching, setSearching] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const [live, setLive] = useState<Record<string, LiveCall>>({});
  /** Output of running commands not yet on screen (applied once per frame, as message deltas). */
  const pendingOutput = useRef(new Map<string, { text: string; cut: boolean }>());
  /** Messages seen streaming here: their calls are about to run (not left over from a stopped loop). */
  const seenLive = useRef(new Set<string>());
  // Another session's context usage and tool calls say nothing about this one.
  useEffect(() => {
    setUsage(null);
    setLive({});
    pendingOutput.current = new Map();
    seenLive.current = new Set();
    if (!session?.tools) return;
    // Calls that wait for approval since before this chat was opened (or the page reloaded).
    let gone = false;
    client.call<ToolCallEvent[]>('tools.pending', { session_id: session.id }).then(
      (pending) => {
        if (gone || pending.length === 0) return;
        setLive((l) => {
          const next = { ...l };
          for (const ev of pending) next[ev.call.id] = { ...(l[ev.call.id] ?? newLive()), call: ev.call, messageId: ev.message_id ?? null, needsApproval: true };
          return next;
        });
        for (const ev of pending) if (ev.message_id) seenLive.current.add(ev.message_id);
      },
      () => {},
    );
    return () => {
      gone = true;
    };
  }, [session?.id, session?.tools]);
  const models = useLoad(() => client.call<Model[]>('models.list'), []);

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

  /** `sessions.update`: the chat's tools switch and model (`""` goes back to the default model). */
  /** The change on its way: the switch and the picker show it at once, not the old value. */
  const [updating, setUpdating] = useState<{ tools?: boolean; model?: string; agent?: string } | null>(null);
  const update = async (patch: { tools?: boolean; model?: string; agent?: string }) => {
    if (!session) return;
    setUpdating(patch);
    try {
      setSession(await client.call<Session>('sessions.update', { id: session.id, ...patch }));
      sessions.reload();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setUpdating(null);
    }
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
    if (pending.size > 0) {
      pendingDeltas.current = new Map();
      setMessages((ms) =>
        ms.map((x) => {
          const d = pending.get(x.id);
          return d ? { ...x, content: x.content + d.content, reasoning: d.reasoning ? (x.reasoning ?? '') + d.reasoning : x.reasoning } : x;
        }),
      );
    }
    const output = pendingOutput.current;
    if (output.size > 0) {
      pendingOutput.current = new Map();
      setLive((l) => {
        const next = { ...l };
        for (const [id, delta] of output) {
          const cur = next[id] ?? newLive();
          const { text, cut } = appendOutput(cur.output, delta.text);
          next[id] = { ...cur, output: text, outputCut: cur.outputCut || delta.cut || cut };
        }
        return next;
      });
    }
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
          if (m.status === 'streaming') seenLive.current.add(m.id);
          setMessages((ms) => (ms.some((x) => x.id === m.id) ? ms.map((x) => (x.id === m.id ? m : x)) : [...ms, m]));
          // For screen readers: that the reply finished (each streamed token is not announced).
          if (e.type === 'message.completed' && m.role === 'assistant') setAnnouncement(m.status === 'interrupted' ? 'The reply was stopped.' : 'The reply is complete.');
          break;
        }
        case 'message.delta': {
          // Deltas are applied once per frame: a fast stream re-renders 60 times a second, not
          // once per token.
          const { message_id, delta, reasoning } = data as { message_id: string; delta?: string; reasoning?: string };
          seenLive.current.add(message_id);
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
        case 'tool.call': {
          const ev = data as unknown as ToolCallEvent;
          setLive((l) => ({ ...l, [ev.call.id]: { ...(l[ev.call.id] ?? newLive()), call: ev.call, messageId: ev.message_id ?? null, needsApproval: ev.needs_approval } }));
          if (ev.needs_approval) setAnnouncement(`${ev.call.name} waits for your approval: Allow, Deny or Always allow.`);
          break;
        }
        case 'tool.output': {
          // A command can print faster than the screen draws: appended once per frame.
          const { call_id, delta } = data as unknown as ToolOutputEvent;
          const out = pendingOutput.current;
          const before = out.get(call_id);
          const { text, cut } = appendOutput(before?.text ?? '', delta);
          out.set(call_id, { text, cut: cut || !!before?.cut });
          flushSoon();
          break;
        }
        case 'tool.result': {
          // Output still waiting belongs before the result.
          flush();
          const ev = data as unknown as ToolResultEvent;
          setLive((l) => ({ ...l, [ev.call_id]: { ...(l[ev.call_id] ?? newLive()), result: { status: ev.status, content: ev.content }, deciding: false } }));
          break;
        }
        case 'session.updated': {
          // Changed elsewhere (another window, the CLI): the switch and the picker follow.
          const changed = (data as { session: Session }).session;
          setSession((cur) => (cur && cur.id === changed.id ? changed : cur));
          sessions.reload();
          break;
        }
        case 'stream.gap':
          history.reload();
          break;
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [flush, flushSoon],
  );
  useTopic(session ? `session/${session.id}` : null, onEvent);

  // The agent's system message and seed messages open the session: folded into one line.
  const intro = useMemo(() => introOf(messages), [messages]);
  const view = useMemo(() => buildView(messages.slice(intro.length), live), [messages, intro.length, live]);
  const { rows } = view;
  /** How far a call got: its result, else what the live events said, else whether it can still run. */
  const statusOf = (callId: string, message: Message): CallStatus => {
    const result = view.results.get(callId) ?? live[callId]?.result;
    if (result) return result.status;
    const l = live[callId];
    const tail = message.id === view.tailId;
    // A later turn or a stop ended the loop without a result for this call.
    if (!tail || l?.stopped) return 'stopped';
    if (l) return l.needsApproval && !l.decided ? 'waiting' : 'running';
    return message.status === 'complete' && seenLive.current.has(message.id) ? 'running' : 'stopped';
  };
  const tailMessage = view.tailId ? messages.find((m) => m.id === view.tailId) : undefined;
  const loopActive = !!tailMessage && (view.callsOf.get(tailMessage.id) ?? []).some((c) => ['running', 'waiting'].includes(statusOf(c.id, tailMessage)));

  const decide = useCallback((callId: string, decision: ToolDecision) => {
    setLive((l) => ({ ...l, [callId]: { ...(l[callId] ?? newLive()), deciding: true } }));
    client.call('tools.approve', { call_id: callId, decision }).then(
      () => {
        setLive((l) => ({ ...l, [callId]: { ...(l[callId] ?? newLive()), deciding: false, decided: true } }));
        setError(null);
      },
      (e: unknown) => {
        setLive((l) => ({ ...l, [callId]: { ...(l[callId] ?? newLive()), deciding: false } }));
        setError(errorText(e));
      },
    );
  }, []);

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 96,
    overscan: 6,
    getItemKey: (i) => rows[i]?.id ?? i,
  });
  // Follow the conversation (and a running command's output) while the reader is at the bottom.
  const atBottom = useRef(true);
  useEffect(() => {
    if (atBottom.current && rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
  }, [rows, live, virtualizer]);
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
            // Free before the messages change (a search hit being looked for goes on with them).
            loadingOlder.current = false;
            setHasOlder(older.length === PAGE);
            setMessages((ms) => [...older.filter((o) => !ms.some((m) => m.id === o.id)), ...ms]);
            // Keep the message the reader was looking at in place.
            requestAnimationFrame(() => virtualizer.scrollToIndex(older.filter((o) => o.role !== 'tool').length, { align: 'start' }));
          },
          (e: unknown) => setError(errorText(e)),
        )
        .finally(() => {
          loadingOlder.current = false;
        });
    }
  };

  /** A search hit to show: its chat opens, older pages load until it is there, it is scrolled to. */
  const [jump, setJump] = useState<{ sessionId: string; messageId: string } | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);
  useEffect(() => {
    if (!jump || session?.id !== jump.sessionId) return;
    // The chat just picked is still loading (what is shown is the previous chat's).
    if (messages.length === 0 || messages[0].session_id !== jump.sessionId) return;
    const at = rows.findIndex((r) => r.id === jump.messageId);
    if (at >= 0) {
      atBottom.current = false;
      setHighlight(jump.messageId);
      setJump(null);
      virtualizer.scrollToIndex(at, { align: 'center' });
      // Measured rows move the target: once more after they are laid out.
      requestAnimationFrame(() => virtualizer.scrollToIndex(at, { align: 'center' }));
      return;
    }
    if (messages.some((m) => m.id === jump.messageId)) {
      // A tool result folded into its call: the call's message is the one to show.
      const owner = messages.find((m) => m.tool_calls?.some((c) => c.id === messages.find((x) => x.id === jump.messageId)?.tool_call_id));
      setJump(owner ? { ...jump, messageId: owner.id } : null);
      return;
    }
    if (!hasOlder) {
      setJump(null);
      setError('That message is no longer in this chat.');
      return;
    }
    if (loadingOlder.current) return;
    loadingOlder.current = true;
    client
      .call<Message[]>('messages.list', { session_id: jump.sessionId, before: messages[0].id, limit: JUMP_PAGE })
      .then(
        (older) => {
          // Free before the messages change: this effect runs again with them and may go on.
          loadingOlder.current = false;
          setHasOlder(older.length === JUMP_PAGE);
          setMessages((ms) => [...older.filter((o) => !ms.some((m) => m.id === o.id)), ...ms]);
        },
        (e: unknown) => {
          loadingOlder.current = false;
          setJump(null);
          setError(errorText(e));
        },
      );
  }, [jump, session?.id, messages, rows, hasOlder, virtualizer]);
  // A new chat starts with the tools switch as the open one has it.
  const startChat = () =>
    void client.call<Session>('sessions.create', { project_id: project.id, ...(session?.tools ? { tools: true } : {}) }).then(
      (s) => {
        setSession(s);
        sessions.reload();
      },
      (e: unknown) => setError(errorText(e)),
    );
  // The palette's "New chat", once the chat it would follow is known.
  useEffect(() => {
    if (!newChat || !sessions.data) return;
    onNewChatDone?.();
    startChat();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [newChat, sessions.data]);

  // Ctrl/Cmd+K (handled by the workspace, which shows this panel) opens the search.
  useEffect(() => {
    if (searchSignal) setSearching(true);
  }, [searchSignal]);

  // A loop is busy while a reply streams and while its tool calls run or wait (between replies).
  const streaming = messages.some((m) => m.status === 'streaming') || loopActive;
  const send = async () => {
    if (!session || !draft.trim()) return;
    // Sending jumps to the end of the conversation and follows the reply.
    atBottom.current = true;
    if (rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
    try {
      const content = await expandMentions(client, project.id, draft);
      await client.call('messages.send', { session_id: session.id, content });
      setDraft('');
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const stop = () =>
    session &&
    client.call('messages.stop', { session_id: session.id }).then(
      // Calls that had not ended will not: their buttons go (a later tool.result still shows).
      () => setLive((l) => Object.fromEntries(Object.entries(l).map(([id, c]) => [id, c.result ? c : { ...c, stopped: true }]))),
      (e: unknown) => setError(errorText(e)),
    );
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
        <label className="switch" title="Let this chat's agent list, read, search and edit the project's files and run commands (commands ask first)">
          <input type="checkbox" role="switch" aria-label="Tools" checked={updating?.tools ?? session?.tools ?? false} disabled={!session || !!updating} onChange={(e) => void update({ tools: e.target.checked })} />
          Tools
        </label>
        <select aria-label="Model" title="The model this chat talks to" value={updating?.model ?? session?.model ?? ''} disabled={!session || !!updating} onChange={(e) => void update({ model: e.target.value })}>
          <option value="">default model</option>
          {(models.data ?? []).map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
          {session?.model && !models.data?.some((m) => m.name === session.model) ? <option value={session.model}>{session.model} (not on the server)</option> : null}
        </select>
        <select aria-label="Agent" title="Who answers in this chat: its instructions (from the next reply)" value={updating?.agent ?? session?.agent ?? 'assistant'} disabled={!session || !!updating} onChange={(e) => void update({ agent: e.target.value })}>
          {CHAT_AGENTS.map(([name, label]) => (
            <option key={name} value={name}>
              {label}
            </option>
          ))}
          {session?.agent && !CHAT_AGENTS.some(([name]) => name === session.agent) ? <option value={session.agent}>{session.agent}</option> : null}
        </select>
        <button onClick={startChat}>
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
            {usage.compacted ? (
              <span className="muted" role="note">
                {' '}
                · older turns summarised to fit the context
              </span>
            ) : null}
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
            if (s && s.id !== session?.id) setSession(s);
            setJump({ sessionId: hit.message.session_id, messageId: hit.message.id });
            setHighlight(null);
            setSearching(false);
          }}
        />
      ) : null}
      <div className="sr-only" aria-live="polite">
        {announcement}
      </div>
      {intro.length ? <AboutAgent agent={session?.agent ?? 'assistant'} intro={intro} /> : null}
      {session && history.data && rows.length === 0 ? (
        <p className="empty-state muted">Ask a question about this project, or describe something to build. Switch on Tools to let the agent read and edit files.</p>
      ) : null}
      <div className="messages" ref={scroller} onScroll={onScroll} aria-label="Messages">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className={rows[item.index]?.id === highlight ? 'hit' : undefined}
              aria-current={rows[item.index]?.id === highlight ? 'true' : undefined}
              style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
            >
              <Row
                message={rows[item.index]}
                onRetry={retryable && rows[item.index]?.id === last?.id ? retry : undefined}
                calls={view.callsOf.get(rows[item.index]?.id)}
                statusOf={statusOf}
                results={view.results}
                live={live}
                decide={decide}
              />
            </div>
          ))}
        </div>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {session?.tools && session.project_id ? <ChangesBar key={session.id} sessionId={session.id} projectId={session.project_id} /> : null}
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
