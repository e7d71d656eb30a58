/**
 * One tool call an agent made in chat, shown inline under its assistant message: the tool, its
 * arguments in one line, a status chip, Allow / Deny / Always allow while it waits, the live
 * output of a running command, and its result folded (an error or a refusal shown open).
 */
import { memo, useLayoutEffect, useRef, useState } from 'react';
import type { JsonValue, ToolCallInfo, ToolDecision, ToolStatus } from '../protocol/generated';
import { PlainText } from './PlainText';

/** How far a call got: `stopped` is a call that ended without a result (the loop was stopped). */
export type CallStatus = 'running' | 'waiting' | 'stopped' | ToolStatus;

const STATUS_LABEL: Record<CallStatus, string> = {
  running: 'running',
  waiting: 'waiting for approval',
  stopped: 'stopped',
  ok: 'ok',
  error: 'error',
  denied: 'denied',
};

/** Live output kept in the page: the last ~200 KB (trimmed in steps so slices stay put). */
export const OUTPUT_KEEP = 200_000;
const OUTPUT_TRIM_AT = 256_000;

/** `output` with `delta` appended, cut to its last ~200 KB at a line start once it grows past 256 KB. */
export function appendOutput(output: string, delta: string): { text: string; cut: boolean } {
  const text = output + delta;
  if (text.length <= OUTPUT_TRIM_AT) return { text, cut: false };
  let from = text.length - OUTPUT_KEEP;
  const newline = text.indexOf('\n', from);
  if (newline >= 0 && newline - from < 4096) from = newline + 1;
  // Never start inside a surrogate pair.
  if (/[\uDC00-\uDFFF]/.test(text[from] ?? '')) from += 1;
  return { text: text.slice(from), cut: true };
}

const oneLine = (s: string, max = 160) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/**
 * The arguments in one short line: for the built-in tools the part a person checks (the command,
 * the path, the pattern); for others, or arguments without that part, compact JSON.
 */
export function describeArguments(name: string, args: JsonValue | undefined): string {
  const a = args && typeof args === 'object' && !Array.isArray(args) ? args : null;
  const text = (key: string) => (typeof a?.[key] === 'string' ? (a[key] as string) : null);
  const num = (key: string) => (typeof a?.[key] === 'number' ? (a[key] as number) : null);
  switch (name) {
    case 'run_command': {
      const command = text('command');
      if (command !== null) return oneLine(command, 400);
      break;
    }
    case 'read_file': {
      const path = text('path');
      if (path === null) break;
      const start = num('start_line');
      const end = num('end_line');
      return start !== null || end !== null ? `${path}:${start ?? 1}-${end ?? ''}` : path;
    }
    case 'write_file':
    case 'edit_file': {
      const path = text('path');
      if (path !== null) return path;
      break;
    }
    case 'list_files':
      return text('path') ?? '.';
    case 'find_in_files': {
      const pattern = text('pattern');
      if (pattern === null) break;
      const glob = text('glob');
      return glob ? `${oneLine(pattern)} in ${glob}` : oneLine(pattern);
    }
    case 'search_code': {
      const query = text('query');
      if (query !== null) return oneLine(query);
      break;
    }
  }
  if (args === undefined || args === null || (a && Object.keys(a).length === 0)) return '';
  return oneLine(JSON.stringify(args));
}

/** Whether the one-line summary leaves something out (file contents, replacements, options). */
function hasMoreArguments(name: string, args: JsonValue | undefined): boolean {
  if (!args || typeof args !== 'object' || Array.isArray(args)) return false;
  const keys = Object.keys(args);
  const shown: Record<string, string[]> = {
    run_command: ['command'],
    read_file: ['path', 'start_line', 'end_line'],
    list_files: ['path'],
    find_in_files: ['pattern', 'glob'],
    search_code: ['query'],
  };
  const known = shown[name];
  return known ? keys.some((k) => !known.includes(k)) : JSON.stringify(args).length > 160;
}

/** A running command's output: monospace, scrolled to its end while the reader is there. */
function LiveOutput({ name, text, cut }: { name: string; text: string; cut: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <div
      className="tool-output"
      ref={box}
      role="log"
      aria-label={`Output of ${name}`}
      onScroll={(e) => {
        const el = e.currentTarget;
        follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {cut ? <div className="muted">(earlier output cut: only the last 200 KB are shown here)</div> : null}
      <PlainText text={text} />
    </div>
  );
}

export interface ToolCallProps {
  call: ToolCallInfo;
  status: CallStatus;
  /** What a running command printed so far. */
  output?: string;
  /** The output was cut to its last part. */
  outputCut?: boolean;
  /** The tool's result (the `tool` message's content), once it ended. */
  result?: string | null;
  /** Set while the call waits for approval: the person's answer. */
  onDecide?: (callId: string, decision: ToolDecision) => void;
  /** An answer was sent and not yet acknowledged. */
  deciding?: boolean;
}

export const ToolCallView = memo(function ToolCallView({ call, status, output = '', outputCut = false, result = null, onDecide, deciding = false }: ToolCallProps) {
  const summary = describeArguments(call.name, call.arguments);
  const more = hasMoreArguments(call.name, call.arguments);
  // Errors and refusals show open (the reason matters); other results fold until asked for.
  const [open, setOpen] = useState<boolean | null>(null);
  const failed = status === 'error' || status === 'denied';
  const shown = open ?? failed;
  const ended = result !== null;
  const label = `${call.name}${summary ? `: ${summary}` : ''}`;
  return (
    <div className={`tool-call status-${status}`} role="group" aria-label={`Tool call ${label}`}>
      <div className="tool-head">
        <span className="tool-name">{call.name || 'tool'}</span>
        {summary ? (
          <code className="tool-args" title={summary}>
            {summary}
          </code>
        ) : null}
        <span className={`chip status-${status}`}>{STATUS_LABEL[status]}</span>
        {ended || more ? (
          <button
            className="link"
            aria-expanded={shown}
            aria-label={`${shown ? 'Hide' : 'Show'} the ${ended ? 'result' : 'arguments'} of ${call.name}`}
            onClick={() => setOpen(!shown)}
          >
            {shown ? 'Hide' : ended ? 'Result' : 'Arguments'}
          </button>
        ) : null}
      </div>
      {status === 'waiting' && onDecide ? (
        <div className="tool-approve" role="group" aria-label={`Approve ${call.name}`}>
          <span>Let the agent run this?</span>
          <button disabled={deciding} onClick={() => onDecide(call.id, 'allow')}>
            Allow
          </button>
          <button disabled={deciding} onClick={() => onDecide(call.id, 'deny')}>
            Deny
          </button>
          <button disabled={deciding} title={`Run ${call.name} without asking from now on, in this project (revoke in Settings)`} onClick={() => onDecide(call.id, 'allow_always')}>
            Always allow
          </button>
        </div>
      ) : null}
      {!ended && output ? <LiveOutput name={call.name} text={output} cut={outputCut} /> : null}
      {shown ? (
        <div className="tool-detail">
          {more ? <pre className="tool-arguments">{JSON.stringify(call.arguments, null, 2)}</pre> : null}
          {ended ? (
            <div className="tool-result" aria-label={`Result of ${call.name}`}>
              {result ? <PlainText text={result} /> : <span className="muted">(no output)</span>}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
});
