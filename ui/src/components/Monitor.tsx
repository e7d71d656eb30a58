import { useCallback, useState } from 'react';
import { client, useLoad, useTopic } from '../api';
import type { Agent, CoordinatorMetrics, Event, SystemMetrics } from '../protocol/generated';

const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;

export function Monitor() {
  const [system, setSystem] = useState<SystemMetrics | null>(null);
  const [coordinator, setCoordinator] = useState<CoordinatorMetrics | null>(null);
  const agents = useLoad(() => client.call<Agent[]>('agents.list', {}), [coordinator?.total_workflows]);
  useTopic('system', useCallback((e: Event) => e.type === 'system.metrics' && setSystem(e.data as unknown as SystemMetrics), []));
  useTopic('coordinator', useCallback((e: Event) => e.type === 'coordinator.metrics' && setCoordinator(e.data as unknown as CoordinatorMetrics), []));
  return (
    <section aria-label="Agent monitor">
      <h4>System</h4>
      {system ? (
        <p>
          CPU {system.cpu_percent.toFixed(0)}% · memory {mib(system.memory_used_bytes)} of {mib(system.memory_total_bytes)} · {system.active_workflows} workflows ·{' '}
          {system.active_agents} agents working · {system.connected_clients} clients · up {system.uptime_s} s
        </p>
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
            const unhealthy = (m.error_rate ?? 0) > 0.5;
            return (
              <tr key={a.id} className={unhealthy ? 'unhealthy' : ''}>
                <td>
                  {a.role} {a.name}
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
