import { useCallback, useState } from 'react';
import { client, useLoad, useTopic } from '../api';
import type { Agent, CoordinatorMetrics, Event, SystemMetrics } from '../protocol/generated';

const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;

/** An agent is failing when it is in error or more than half its calls failed; degraded past 10 %. */
export function agentHealth(status: string, errorRate: number): 'healthy' | 'degraded' | 'failing' {
  if (status === 'error' || errorRate > 0.5) return 'failing';
  if (errorRate > 0.1) return 'degraded';
  return 'healthy';
}

export function Monitor() {
  const [system, setSystem] = useState<SystemMetrics | null>(null);
  const [coordinator, setCoordinator] = useState<CoordinatorMetrics | null>(null);
  // Agents' metrics are refreshed when the coordinator's figures (pushed every 2 s) say that
  // something happened: a message, a workflow, an agent's health — never on a timer of our own.
  const agents = useLoad(() => client.call<Agent[]>('agents.list', {}), [
    coordinator?.total_workflows,
    coordinator?.total_messages,
    coordinator?.healthy_agents,
    coordinator?.active_workflows,
  ]);
  useTopic('system', useCallback((e: Event) => e.type === 'system.metrics' && setSystem(e.data as unknown as SystemMetrics), []));
  useTopic('coordinator', useCallback((e: Event) => e.type === 'coordinator.metrics' && setCoordinator(e.data as unknown as CoordinatorMetrics), []));
  return (
    <section aria-label="Agent monitor">
      <h4>System</h4>
      {system ? (
        <>
          <div className="row">
            <label>
              CPU <meter aria-label="CPU" min={0} max={100} value={system.cpu_percent} />
            </label>
            <label>
              Memory <meter aria-label="Memory" min={0} max={system.memory_total_bytes} value={system.memory_used_bytes} />
            </label>
          </div>
        <p>
          CPU {system.cpu_percent.toFixed(0)}% · memory {mib(system.memory_used_bytes)} of {mib(system.memory_total_bytes)} · {system.active_workflows} workflows ·{' '}
          {system.active_agents} agents working · {system.connected_clients} clients · up {system.uptime_s} s
        </p>
        </>
      ) : (
        <p className="muted">Waiting for metrics (every 2 s)…</p>
      )}
      <h4>Coordinator</h4>
      {coordinator ? (
        <p>
          {coordinator.total_workflows} workflows ({coordinator.active_workflows} active) · {coordinator.total_messages} messages · {coordinator.healthy_agents} of{' '}
          {coordinator.registered_agents} agents healthy
        </p>
      ) : null}
      <h4>Agents</h4>
      <table>
        <thead>
          <tr>
            <th>agent</th>
            <th>health</th>
            <th>status</th>
            <th>messages</th>
            <th>errors</th>
            <th>avg ms</th>
            <th>tokens</th>
          </tr>
        </thead>
        <tbody>
          {(agents.data ?? []).slice(0, 200).map((a) => {
            const m = (a.metrics ?? {}) as Record<string, number>;
            const health = agentHealth(a.status, m.error_rate ?? 0);
            return (
              <tr key={a.id} className={health === 'failing' ? 'unhealthy' : ''}>
                <td>
                  {a.role} {a.name}
                </td>
                <td>
                  <span className={`dot ${health}`} aria-hidden="true" /> {health}
                </td>
                <td>{a.status}</td>
                <td>{m.message_count ?? 0}</td>
                <td>
                  {m.error_count ?? 0} ({Math.round((m.error_rate ?? 0) * 100)}%)
                </td>
                <td>{m.avg_execution_ms ?? 0}</td>
                <td>{(m.tokens_in ?? 0) + (m.tokens_out ?? 0)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
