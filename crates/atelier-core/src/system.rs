//! `system.*`: health (the database, each model endpoint and its models, the data folder's
//! disk, the sandbox for agents' commands) with `system.health` events when it changes, and machine metrics.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use atelier_llm::Provider;
use atelier_protocol::{Health, HealthCheck, HealthStatus, SystemMetrics, event_types, to_value, topics};

use crate::App;

/// Health answers are cached briefly so a polling client cannot hammer the model server.
const HEALTH_TTL: Duration = Duration::from_secs(3);
/// How long a model endpoint may take to answer a health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Below this much free space on the data folder's disk, health is `degraded`...
const DISK_LOW: u64 = 2 << 30;
/// ...and below this, `down`: SQLite cannot be trusted to commit.
const DISK_CRITICAL: u64 = 200 << 20;
/// How often health is checked in the background while someone subscribes to `system`.
pub const HEALTH_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct SystemState {
    sys: Mutex<Option<sysinfo::System>>,
    health: tokio::sync::Mutex<Option<(Instant, Health)>>,
    /// The statuses last seen (overall, then each check's), to announce changes.
    seen: Mutex<Option<Vec<(String, HealthStatus)>>>,
}

impl App {
    /// The health of the parts, for `GET /health` and `system.health`. Details say what is
    /// wrong in words and name no paths, addresses or secrets.
    pub async fn health(&self) -> Health {
        self.health_within(HEALTH_TTL).await
    }

    /// Health no older than `max_age`; a fresh check that differs from the last one seen is
    /// announced as `system.health` on `system`.
    pub(crate) async fn health_within(&self, max_age: Duration) -> Health {
        let mut cached = self.inner.system.health.lock().await;
        if let Some((at, health)) = cached.as_ref()
            && at.elapsed() < max_age
        {
            return health.clone();
        }
        let health = self.probe_health().await;
        *cached = Some((Instant::now(), health.clone()));
        drop(cached);
        self.announce_if_changed(&health);
        health
    }

    /// Drops the cached answer (a setting that changes a check changed).
    pub(crate) async fn forget_health(&self) {
        *self.inner.system.health.lock().await = None;
    }

    fn announce_if_changed(&self, health: &Health) {
        let now: Vec<(String, HealthStatus)> = std::iter::once((String::new(), health.status))
            .chain(health.checks.iter().map(|c| (c.name.clone(), c.status)))
            .collect();
        let mut seen = self.inner.system.seen.lock().unwrap_or_else(|p| p.into_inner());
        let changed = seen.as_ref().is_some_and(|before| *before != now);
        *seen = Some(now);
        drop(seen);
        if changed {
            tracing::info!(status = ?health.status, "health changed");
            self.bus().publish(topics::SYSTEM, event_types::SYSTEM_HEALTH, to_value(health));
        }
    }

    async fn probe_health(&self) -> Health {
        let db =
            match self.store().read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).await
            {
                Ok(_) => check("database", HealthStatus::Ok, "readable".into()),
                Err(_) => check("database", HealthStatus::Down, "the database cannot be read".into()),
            };
        let wanted = self.wanted_models().await;
        let mut checks = vec![db];
        checks.extend(model_endpoint_checks(self.provider().as_ref(), &wanted).await);
        checks.push(disk_check(self.data_dir()).await);
        checks.push(self.sandbox_check());
        let status = if checks.iter().any(|c| c.status == HealthStatus::Down) {
            HealthStatus::Down
        } else if checks.iter().any(|c| c.status == HealthStatus::Degraded) {
            HealthStatus::Degraded
        } else {
            HealthStatus::Ok
        };
        Health { status, checks, version: Some(env!("CARGO_PKG_VERSION").to_owned()) }
    }

    /// The models chats and workflows will ask for by name: the configured default and the
    /// per-role settings. Empty when none is set (then any model will do).
    async fn wanted_models(&self) -> Vec<String> {
        let mut wanted = Vec::new();
        if let Some(model) = &self.inner.config.default_model {
            wanted.push(model.clone());
        }
        for key in ["default_model", "model.master", "model.manager", "model.coder"] {
            if key == "default_model" && !wanted.is_empty() {
                continue;
            }
            if let Ok(Some(model)) = self.setting(key).await
                && !wanted.contains(&model)
            {
                wanted.push(model);
            }
        }
        wanted
    }

    /// Every `HEALTH_EVERY` while someone subscribes to `system`: a fresh health check, which
    /// announces itself when it changed.
    pub(crate) async fn watch_health(self) {
        let every = self.inner.config.health_every;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.inner.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if self.bus().has_subscribers(topics::SYSTEM) {
                self.health_within(Duration::ZERO).await;
            }
        }
    }

    /// CPU and memory of the machine and the engine's activity.
    pub async fn metrics(&self) -> SystemMetrics {
        let app = self.clone();
        let (cpu, used, total) = tokio::task::spawn_blocking(move || {
            let mut guard = app.inner.system.sys.lock().unwrap_or_else(|p| p.into_inner());
            let sys = guard.get_or_insert_with(sysinfo::System::new);
            // CPU usage is a difference between two refreshes; the first call reports 0.
            sys.refresh_cpu_usage();
            sys.refresh_memory();
            (sys.global_cpu_usage(), sys.used_memory(), sys.total_memory())
        })
        .await
        .unwrap_or((0.0, 0, 0));
        SystemMetrics {
            cpu_percent: cpu,
            memory_used_bytes: used,
            memory_total_bytes: total,
            active_workflows: self.engine().active() as u64,
            active_agents: self.active_replies() as u64,
            connected_clients: self.bus().subscriber_count() as u64,
            uptime_s: self.inner.started.elapsed().as_secs(),
        }
    }
}

/// A check per model endpoint (`model_endpoint`, or `model_endpoint.N` for each server of a
/// pool): reachable, its version, and whether the models in `wanted` (else any model) are there.
pub async fn model_endpoint_checks(provider: &dyn Provider, wanted: &[String]) -> Vec<HealthCheck> {
    let Some(pool) = provider.pool() else {
        return vec![endpoint_check("model_endpoint", provider, "", wanted, false).await];
    };
    let members = pool.members();
    let total = members.len();
    let labels: Vec<(String, String)> =
        (1..=total).map(|i| (format!("model_endpoint.{i}"), format!("endpoint {i} of {total}: "))).collect();
    futures::future::join_all(
        members
            .iter()
            .zip(&labels)
            .map(|(member, (name, label))| endpoint_check(name, member.as_ref(), label, wanted, true)),
    )
    .await
}

/// Free space on the disk that holds `dir` (the data folder): `degraded` below 2 GiB, `down`
/// below 200 MiB.
pub async fn disk_check(dir: &Path) -> HealthCheck {
    let dir = dir.to_path_buf();
    let free = tokio::task::spawn_blocking(move || free_space(&dir)).await.ok().flatten();
    let Some(free) = free else {
        return check("disk", HealthStatus::Ok, "free space unknown on this system".into());
    };
    let detail = format!("{} free on the disk holding Atelier's data", bytes(free));
    if free < DISK_CRITICAL {
        check("disk", HealthStatus::Down, format!("{detail}; saving may fail: free some space now"))
    } else if free < DISK_LOW {
        check("disk", HealthStatus::Degraded, format!("{detail}; free some space soon"))
    } else {
        check("disk", HealthStatus::Ok, detail)
    }
}

fn check(name: &str, status: HealthStatus, detail: String) -> HealthCheck {
    HealthCheck { name: name.to_owned(), status, detail: Some(detail) }
}

/// One model endpoint: reachable, its version, and whether the models asked for are there.
async fn endpoint_check(
    name: &str,
    provider: &dyn Provider,
    label: &str,
    wanted: &[String],
    pooled: bool,
) -> HealthCheck {
    let kind = provider.name();
    let version = match tokio::time::timeout(PROBE_TIMEOUT, provider.version()).await {
        Ok(Ok(version)) => version,
        Ok(Err(_)) | Err(_) => {
            let consequence = if pooled {
                "requests go to the other endpoints until it answers again"
            } else {
                "chat replies will fail until it is started"
            };
            return check(
                name,
                HealthStatus::Degraded,
                format!("{label}the {kind} model server is not reachable; {consequence}"),
            );
        }
    };
    let names = match tokio::time::timeout(PROBE_TIMEOUT, provider.model_names()).await {
        Ok(Ok(names)) => names,
        Ok(Err(_)) | Err(_) => {
            return check(
                name,
                HealthStatus::Degraded,
                format!("{label}{kind} {version} answers but did not list its models"),
            );
        }
    };
    let has = |model: &str| names.iter().any(|n| n == model || *n == format!("{model}:latest"));
    let missing: Vec<&String> = wanted.iter().filter(|m| !has(m)).collect();
    let fix = |model: &str| {
        if kind == "ollama" {
            format!("run `ollama pull {model}`")
        } else {
            format!("add `{model}` to that server or choose another model")
        }
    };
    if let Some(first) = missing.first() {
        let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        let noun = if missing.len() == 1 { "model" } else { "models" };
        return check(
            name,
            HealthStatus::Degraded,
            format!("{label}{kind} {version} is missing the {noun} {list}; {}", fix(first)),
        );
    }
    if names.is_empty() {
        return check(
            name,
            HealthStatus::Degraded,
            format!("{label}{kind} {version} has no models; {}", fix("llama3.2")),
        );
    }
    let mut models = names.iter().take(5).map(String::as_str).collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        models.push_str(&format!(" and {} more", names.len() - 5));
    }
    let models = if wanted.is_empty() {
        format!("models: {models}")
    } else {
        let wanted = wanted.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        format!("{wanted} present; models: {models}")
    };
    check(name, HealthStatus::Ok, format!("{label}{kind} {version}; {models}"))
}

/// Free bytes on the disk whose mount point is the longest prefix of `dir`.
fn free_space(dir: &Path) -> Option<u64> {
    let dir = dir.canonicalize().ok()?;
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| dir.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// `1.2 GB`, `850 MB`: sizes as a person reads them (decimal units, as disk tools show them).
fn bytes(n: u64) -> String {
    const GB: f64 = 1e9;
    const MB: f64 = 1e6;
    let n = n as f64;
    if n >= 100.0 * GB {
        format!("{:.0} GB", n / GB)
    } else if n >= GB {
        format!("{:.1} GB", n / GB)
    } else {
        format!("{:.0} MB", n / MB)
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_read_as_a_person_would_say_them() {
        assert_eq!(bytes(1_234_000_000), "1.2 GB");
        assert_eq!(bytes(850_000_000), "850 MB");
        assert_eq!(bytes(250_400_000_000), "250 GB");
    }
}
