import { useCallback, useEffect, useRef, useState } from 'react';
import { CircleX, Pause, Play, RotateCcw, X } from 'lucide-react';
import { client, errorText, useLoad, useTopic } from '../api';
import { useLiveFiles } from '../live';
import type { Agent, Event, JsonValue, Model, Project, Workflow, WorkflowUsage, WrittenFile } from '../protocol/generated';
import { DiffView } from './DiffView';
import { UndoNote } from './Bits';
import { ReviewView } from './Review';
import type { ReviewDone, ReviewFile } from '../review-types';
import { describeArguments } from './ToolCall';

const FINISHED = ['completed', 'failed', 'cancelled'];

/** The list with `file` in it: a path written again keeps its place and takes the new size. */
const addFile = (files: WrittenFile[], file: WrittenFile): WrittenFile[] =>
  files.some((f) => f.path === file.path) ? files.map((f) => (f.path === file.path ? file : f)) : [...files, file];

const formatBytes = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);

interface Metrics {
  tokens_in?: number;
  tokens_out?: number;
  context_used?: number;
  context_limit?: number | null;
  message_count?: number;
  error_count?: number;
  avg_execution_ms?: number;
}

/** A tool call a workflow agent made, as its lane shows it. */
interface LaneCall {
  id: string;
  name: string;
  summary: string;
  status: string;
}

/** Calls shown per agent lane (the newest). */
const LANE_CALLS = 6;

function AgentNode({
  agent,
  agents,
  current,
  calls,
}: {
  agent: Agent;
  agents: Agent[];
  current: Record<string, string>;
  calls: Record<string, LaneCall[]>;
}) {
  const m = (agent.metrics ?? {}) as Metrics;
  const children = agents.filter((a) => a.parent_id === agent.id);
  const own = calls[agent.id] ?? [];
  return (
    <li>
      <div className={`agent ${agent.status}`} aria-label={`${agent.role} ${agent.name}: ${agent.status}`}>
        <strong>{agent.role}</strong> {agent.name} <span className="status">{agent.status}</span>
        {current[agent.id] ? <span className="muted"> · {current[agent.id]}</span> : null}
        <span className="muted"> · {(m.tokens_in ?? 0) + (m.tokens_out ?? 0)} tokens</span>
        {m.context_limit ? <meter aria-label={`Context of ${agent.name}`} min={0} max={m.context_limit} value={m.context_used ?? 0} /> : null}
      </div>
      {own.length > 0 ? (
        <ul className="lane-calls" aria-label={`Tool calls of ${agent.role} ${agent.name}`}>
          {own.map((c) => (
            <li key={c.id} className={`lane-call ${c.status}`}>
              <code>{c.name}</code> <span className="muted">{c.summary}</span> <span className="status">{c.status}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {children.length > 0 ? (
        <ul>
          {children.map((c) => (
            <AgentNode key={c.id} agent={c} agents={agents} current={current} calls={calls} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** The workflow's model usage (from the server's ledger): the total and each module's share. */
function UsageView({ usage }: { usage: WorkflowUsage }) {
  const t = usage.total;
  return (
    <details className="usage-ledger">
      <summary>
        Model use: {t.calls} calls · {t.prompt_tokens + t.completion_tokens} tokens ({t.prompt_tokens} in, {t.completion_tokens} out)
      </summary>
      <table aria-label="Model use by module">
        <thead>
          <tr>
            <th>module</th>
            <th>calls</th>
            <th>tokens in</th>
            <th>tokens out</th>
          </tr>
        </thead>
        <tbody>
          {usage.by_module.map((u) => (
            <tr key={u.key}>
              <td>{u.key}</td>
              <td>{u.calls}</td>
              <td>{u.prompt_tokens}</td>
              <td>{u.completion_tokens}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** A labelled number box whose value stays within `min`–`max`. */
function NumberBox({ label, title, min, max, value, onChange }: { label: string; title?: string; min: number; max: number; value: number; onChange: (n: number) => void }) {
  return (
    <label>
      {label}{' '}
      <input aria-label={label} title={title} type="number" min={min} max={max} value={value} onChange={(e) => onChange(Math.min(max, Math.max(min, Number(e.target.value) || min)))} />
    </label>
  );
}

/** The check command's output: live lines of the round running, then each round's result. */
interface CheckRound {
  round: number;
  ok: boolean;
  output: string;
  /** The sandbox it ran in (`bubblewrap`, `landlock`, `seatbelt`, `container`, `none`). */
  sandbox?: string;
}

/** Where a check ran, as a person reads it. */
export function ranIn(sandbox: string | undefined): string {
  if (!sandbox) return '';
  return sandbox === 'none' ? ' (ran without a sandbox)' : ` (ran in the ${sandbox} sandbox)`;
}
interface CheckState {
  lines: string[];
  rounds: CheckRound[];
  skipped: { command: string; reason: string } | null;
}
const NO_CHECK: CheckState = { lines: [], rounds: [], skipped: null };
const CHECK_LINES = 400;

interface PlanShape {
  summary?: string;
  verify?: string | null;
  modules?: { name: string; responsibility?: string; files?: { path: string; purpose?: string }[] }[];
}

/** The plan being reviewed: the JSON being edited when it parses, else the plan as proposed. */
function currentPlan(planText: string | null, plan: unknown): PlanShape {
  if (planText !== null) {
    try {
      return JSON.parse(planText) as PlanShape;
    } catch {
      // Invalid while being typed: the last valid plan's.
    }
  }
  return (plan ?? {}) as PlanShape;
}

/** The check command a plan proposes. */
function proposedCheck(plan: PlanShape): string | null {
  return typeof plan.verify === 'string' && plan.verify.trim() ? plan.verify.trim() : null;
}

/** The plan as modules and files, each file with a way to take it out of the plan. */
function PlanReview({ plan, onChange }: { plan: PlanShape; onChange: (plan: PlanShape) => void }) {
  const modules = plan.modules ?? [];
  const remove = (path: string) =>
    onChange({
      ...plan,
      // A module left without files goes too.
      modules: modules.map((m) => ({ ...m, files: (m.files ?? []).filter((f) => f.path !== path) })).filter((m) => m.files.length > 0),
    });
  return (
    <div className="plan-review" aria-label="Plan review">
      {plan.summary ? <p><strong>{plan.summary}</strong></p> : null}
      {modules.length === 0 ? <p className="error">The plan has no files left: add some as JSON, or cancel the workflow.</p> : null}
      {modules.map((m) => (
        <section key={m.name} aria-label={`Module ${m.name}`}>
          <h5>
            {m.name} <span className="muted">— {m.responsibility}</span>
          </h5>
          <ul>
            {(m.files ?? []).map((f) => (
              <li key={f.path}>
                <code>{f.path}</code> <span className="muted">{f.purpose}</span>{' '}
                <button aria-label={`Leave out ${f.path}`} title="Take this file out of the plan" onClick={() => remove(f.path)}>
                  <X size={12} />
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function CheckView({ check }: { check: CheckState }) {
  if (!check.skipped && !check.rounds.length && !check.lines.length) return null;
  return (
    <section aria-label="Check">
      <h4>Check</h4>
      {check.skipped ? (
        <p className="muted" role="note">
          The plan's check <code>{check.skipped.command}</code> was not run: {check.skipped.reason}.
        </p>
      ) : null}
      <ul aria-label="Check rounds">
        {check.rounds.map((r) => (
          <li key={r.round}>
            <details>
              <summary className={r.ok ? '' : 'error'}>
                {r.round === 0 ? 'First run' : `After fix round ${r.round}`}: {r.ok ? 'passed' : 'failed'}
                {ranIn(r.sandbox)}
              </summary>
              <pre>{r.output}</pre>
            </details>
          </li>
        ))}
      </ul>
      {check.lines.length ? <pre aria-label="Check output">{check.lines.join('\n')}</pre> : null}
    </section>
  );
}

function WorkflowView({ id, projectId, onOpenFile, onFinished }: { id: string; projectId: string; onOpenFile: (path: string) => void; onFinished: () => void }) {
  const [diff, setDiff] = useState<string | null>(null);
  const [planText, setPlanText] = useState<string | null>(null);
  const loaded = useLoad(() => client.call<Workflow>('workflows.get', { id }), [id]);
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [progress, setProgress] = useState<{ progress: number; stage: string; message: string } | null>(null);
  const [files, setFiles] = useState<WrittenFile[]>([]);
  const [current, setCurrent] = useState<Record<string, string>>({});
  const [calls, setCalls] = useState<Record<string, LaneCall[]>>({});
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<CheckState>(NO_CHECK);
  /** The files waiting for the person's review (state `reviewing`), and the review's outcome. */
  const [review, setReview] = useState<ReviewFile[] | null>(null);
  const [reviewDone, setReviewDone] = useState<ReviewDone | null>(null);
  const started = useRef(Date.now());
  // The loop step each streaming file is at.
  const steps = useRef<Record<string, number>>({});
  const append = useLiveFiles((s) => s.append);
  const finish = useLiveFiles((s) => s.finish);

  useEffect(() => {
    if (!loaded.data) return;
    setWorkflow(loaded.data);
    setAgents(loaded.data.agents ?? []);
    // Opened later (running, stopped or finished): the files written so far.
    setFiles((f) => (loaded.data?.files ?? []).reduce(addFile, f));
    started.current = Date.parse(loaded.data.created_at) || Date.now();
    // Opened while (or after a restart while) the workflow waits for a review.
    const pending = loaded.data.review;
    if (pending?.files) setReview(pending.files);
  }, [loaded.data]);

  const onEvent = useCallback(
    (e: Event) => {
      const d = e.data as Record<string, unknown>;
      switch (e.type) {
        case 'workflow.state':
          setWorkflow((w) => (w ? { ...w, state: d.state as string } : w));
          break;
        case 'workflow.progress':
          setProgress(d as { progress: number; stage: string; message: string });
          break;
        case 'agent.status': {
          const a = d.agent as Agent;
          setAgents((as) => (as.some((x) => x.id === a.id) ? as.map((x) => (x.id === a.id ? a : x)) : [...as, a]));
          break;
        }
        case 'file.delta': {
          const path = d.path as string;
          // A new step of an agent loop replaces what the last one streamed (it called tools).
          const step = typeof d.step === 'number' ? d.step : 0;
          if ((steps.current[path] ?? step) !== step) finish(path);
          steps.current[path] = step;
          append(path, d.delta as string);
          setCurrent((c) => ({ ...c, [d.agent_id as string]: d.path as string }));
          break;
        }
        case 'tool.call': {
          const call = d.call as { id: string; name: string; arguments?: JsonValue };
          const lane: LaneCall = { id: call.id, name: call.name, summary: describeArguments(call.name, call.arguments), status: 'running' };
          const agent = d.agent_id as string;
          setCalls((c) => ({ ...c, [agent]: [...(c[agent] ?? []).filter((x) => x.id !== call.id), lane].slice(-LANE_CALLS) }));
          break;
        }
        case 'tool.result': {
          const agent = d.agent_id as string;
          setCalls((c) => ({ ...c, [agent]: (c[agent] ?? []).map((x) => (x.id === d.call_id ? { ...x, status: d.status as string } : x)) }));
          break;
        }
        case 'file.written':
          finish(d.path as string);
          setFiles((f) => addFile(f, { path: d.path as string, bytes: d.bytes as number }));
          break;
        case 'verify.line':
          setCheck((c) => ({ ...c, lines: [...c.lines, d.line as string].slice(-CHECK_LINES) }));
          break;
        case 'verify.output':
          setCheck((c) => ({ ...c, lines: [], rounds: [...c.rounds, d as unknown as CheckRound] }));
          break;
        case 'verify.skipped':
          setCheck((c) => ({ ...c, skipped: d as unknown as CheckState['skipped'] }));
          break;
        case 'review.ready':
          setReview((d.files as ReviewFile[]) ?? []);
          setWorkflow((w) => (w ? { ...w, state: 'reviewing' } : w));
          break;
        case 'review.done':
          setReviewDone(d as unknown as ReviewDone);
          setReview(null);
          break;
        case 'plan.ready':
          setWorkflow((w) => (w ? { ...w, plan: d.plan as Workflow['plan'] } : w));
          break;
        case 'workflow.completed':
        case 'workflow.failed':
        case 'workflow.cancelled':
          loaded.reload();
          onFinished();
          break;
        case 'stream.gap':
          loaded.reload();
          break;
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [append, finish, onFinished],
  );
  useTopic(`workflow/${id}`, onEvent);

  const control = (action: string) =>
    client.call<Workflow>('workflows.control', { id, action }).then(
      (w) => {
        setWorkflow(w);
        setError(null);
        // A retried workflow runs again: the list shows its new state.
        if (action === 'retry') onFinished();
      },
      (e: unknown) => setError(errorText(e)),
    );
  const approve = () => {
    let plan: unknown = undefined;
    if (planText !== null) {
      try {
        plan = JSON.parse(planText);
      } catch (e) {
        setError(`The edited plan is not valid JSON: ${errorText(e)}`);
        return;
      }
    }
    client.call<Workflow>('workflows.approve_plan', { id, plan }).then(
      (w) => {
        setWorkflow(w);
        setPlanText(null);
        setError(null);
      },
      (e: unknown) => setError(errorText(e)),
    );
  };

  if (!workflow) return <p className="muted">{loaded.error ?? 'Loading…'}</p>;
  const finished = FINISHED.includes(workflow.state);
  const pct = workflow.state === 'completed' ? 100 : Math.round((progress?.progress ?? workflow.progress) * 100);
  const elapsed = (Date.now() - started.current) / 1000;
  const eta = pct > 3 && pct < 100 ? Math.round((elapsed * (100 - pct)) / pct) : null;
  const done = finished;
  // The plan under review (the JSON being edited when it parses) and the check it proposes.
  const reviewed = currentPlan(planText, workflow.plan);
  const proposed = proposedCheck(reviewed);
  return (
    <div className="workflow" aria-label="Workflow">
      <p>
        <strong>{workflow.request}</strong> — <span className="status">{workflow.state}</span>
      </p>
      <progress aria-label="Workflow progress" max={100} value={pct} />
      <p className="muted">
        {pct}% · {done ? workflow.state : (progress?.stage ?? workflow.stage)}
        {progress?.message && !done ? ` · ${progress.message}` : ''}
        {eta !== null && !done ? ` · about ${eta} s left` : ''}
      </p>
      <div className="row">
        <button onClick={() => void control('pause')} disabled={done || workflow.state === 'paused'}>
          <Pause size={14} />
          Pause
        </button>
        <button onClick={() => void control('resume')} disabled={workflow.state !== 'paused'}>
          <Play size={14} />
          Resume
        </button>
        <button onClick={() => void control('cancel')} disabled={done}>
          <CircleX size={14} />
          Cancel
        </button>
        {workflow.state === 'awaiting_approval' ? <button onClick={() => void approve()}>Approve plan</button> : null}
        {workflow.state === 'failed' ? (
          <button onClick={() => void control('retry')} title="Run it again from where it failed: what was already done is reused">
            <RotateCcw size={14} />
            Retry
          </button>
        ) : null}
      </div>
      {workflow.error ? <p className="error">{workflow.error}</p> : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
      {workflow.state === 'reviewing' && review ? (
        <ReviewView workflowId={id} files={review} onReviewed={(w) => setWorkflow(w)} />
      ) : null}
      {reviewDone ? (
        <UndoNote
          text={reviewOutcome(reviewDone)}
          undoLabel="Undo the rejection"
          onUndo={
            reviewDone.undo
              ? () =>
                  void client.call('checkpoints.restore', { project_id: projectId, id: reviewDone.undo }).then(
                    () => {
                      setReviewDone(null);
                      setError(null);
                    },
                    (e: unknown) => setError(errorText(e)),
                  )
              : undefined
          }
          onDismiss={() => setReviewDone(null)}
        />
      ) : null}
      {workflow.plan && workflow.state === 'awaiting_approval' ? (
        <div>
          <p>Review the plan; take out what should not be written, or edit it as JSON, then approve it.</p>
          {proposed ? (
            <p className="banner warning" role="note">
              Approving also runs the plan's check <code>{proposed}</code> on this computer, in the sandbox (Settings → Sandbox), once the files are written.{' '}
              <button onClick={() => setPlanText(JSON.stringify({ ...reviewed, verify: null }, null, 2))}>Don't run it</button>
            </p>
          ) : null}
          <PlanReview plan={reviewed} onChange={(p) => setPlanText(JSON.stringify(p, null, 2))} />
          <details>
            <summary>Edit as JSON</summary>
            <textarea
              aria-label="Plan"
              className="plan-edit"
              value={planText ?? JSON.stringify(workflow.plan, null, 2)}
              onChange={(e) => setPlanText(e.target.value)}
            />
          </details>
        </div>
      ) : workflow.plan ? (
        <details>
          <summary>Plan</summary>
          <pre>{JSON.stringify(workflow.plan, null, 2)}</pre>
        </details>
      ) : null}
      <CheckView check={check} />
      <ul className="agents" aria-label="Agents">
        {agents
          .filter((a) => !a.parent_id || !agents.some((p) => p.id === a.parent_id))
          .map((a) => (
            <AgentNode key={a.id} agent={a} agents={agents} current={current} calls={calls} />
          ))}
      </ul>
      {files.length > 0 ? (
        <>
          <h4>Files written</h4>
          <ul aria-label="Files written">
            {files.map(({ path: f, bytes }) => (
              <li key={f}>
                <button className="link" onClick={() => onOpenFile(f)}>
                  {f}
                </button>{' '}
                <span className="muted">{formatBytes(bytes)}</span>{' '}
                {workflow.commit ? (
                  <button aria-label={`Show changes to ${f}`} onClick={() => setDiff(f)}>
                    Diff
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {workflow.summary ? <p>{workflow.summary}</p> : null}
      {loaded.data?.usage ? <UsageView usage={loaded.data.usage} /> : null}
      {diff && workflow.commit ? <DiffView projectId={projectId} commit={workflow.commit} path={diff} onClose={() => setDiff(null)} /> : null}
    </div>
  );
}

/** What a finished review did, as a person reads it. */
export function reviewOutcome(done: ReviewDone): string {
  const names = (paths: string[]) => (paths.length ? paths.join(', ') : 'nothing');
  const partly = done.partial?.length ? ` Committed in part (the rejected changes put back): ${names(done.partial)}.` : '';
  const rejected = done.rejected.length ? ` Put back: ${names(done.rejected)}.` : '';
  return `Review done. Committed: ${names(done.accepted)}.${partly}${rejected}`;
}

export function Workflows({ project, onOpenFile }: { project: Project; onOpenFile: (path: string) => void }) {
  const list = useLoad(() => client.call<Workflow[]>('workflows.list', { project_id: project.id }), [project.id]);
  const [selected, setSelected] = useState<string | null>(null);
  const [request, setRequest] = useState('');
  const [approve, setApprove] = useState(false);
  const [verify, setVerify] = useState('');
  const [parallel, setParallel] = useState(4);
  const [fixRounds, setFixRounds] = useState(2);
  const [model, setModel] = useState('');
  /** Review the changes before they are committed: `null` follows the setting `workflows.review`. */
  const [review, setReview] = useState<boolean | null>(null);
  const settings = useLoad(() => client.call<Record<string, unknown>>('settings.get').catch(() => ({}) as Record<string, unknown>), []);
  const reviewDefault = settings.data?.['workflows.review'] === 'true' || settings.data?.['workflows.review'] === true;
  // For the model choice; without a reachable model server the list is just empty.
  const models = useLoad(() => client.call<Model[]>('models.list').catch(() => [] as Model[]), []);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!selected && list.data && list.data.length > 0) setSelected(list.data[0].id);
  }, [list.data, selected]);
  const start = async () => {
    try {
      const options: Record<string, unknown> = { approve_plan: approve };
      if (verify.trim()) options.verify = verify.trim();
      if (parallel !== 4) options.max_parallel = parallel;
      if (fixRounds !== 2) options.max_fix_rounds = fixRounds;
      if (model) options.model = model;
      if (review !== null && review !== reviewDefault) options.review = review;
      const w = await client.call<Workflow>('workflows.start', { project_id: project.id, request, options });
      setRequest('');
      setSelected(w.id);
      list.reload();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section className="workflows" aria-label="Workflows">
      <textarea aria-label="Request" value={request} onChange={(e) => setRequest(e.target.value)} placeholder="What should the agents build or change?" />
      <div className="row">
        <label>
          <input type="checkbox" checked={approve} onChange={(e) => setApprove(e.target.checked)} /> approve the plan first
        </label>
        <button onClick={() => void start()} disabled={!request.trim()}>
          <Play size={14} />
          Start workflow
        </button>
        <select aria-label="Workflow" value={selected ?? ''} onChange={(e) => setSelected(e.target.value)}>
          {(list.data ?? []).map((w) => (
            <option key={w.id} value={w.id}>
              {w.request.slice(0, 40)} ({w.state})
            </option>
          ))}
        </select>
      </div>
      <details className="options">
        <summary>Options</summary>
        <div className="row">
          <label>
            Check command{' '}
            <input aria-label="Check command" value={verify} onChange={(e) => setVerify(e.target.value)} placeholder="e.g. cargo test (else the plan's, if you approve it)" />
          </label>
          <NumberBox label="Fix rounds" title="How often a failing check goes back to the coders" min={0} max={5} value={fixRounds} onChange={setFixRounds} />
          <label>
            Model{' '}
            <select aria-label="Model" title="For the master, managers and coders that have no model of their own in Settings" value={model} onChange={(e) => setModel(e.target.value)}>
              <option value="">the default model</option>
              {(models.data ?? []).map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <NumberBox label="Coders at once" min={1} max={32} value={parallel} onChange={setParallel} />
          <label title="The workflow waits after the check for you to accept or reject each change; only what you accept is committed">
            <input type="checkbox" aria-label="Review the changes before they are committed" checked={review ?? reviewDefault} onChange={(e) => setReview(e.target.checked)} /> review
            the changes before they are committed
          </label>
        </div>
      </details>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {selected ? <WorkflowView key={selected} id={selected} projectId={project.id} onOpenFile={onOpenFile} onFinished={list.reload} /> : <p className="muted empty-state">No workflows yet. Describe a change above and press Start workflow: a master agent plans it, coders write the files, and the result is committed.</p>}
    </section>
  );
}
