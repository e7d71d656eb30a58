//! `system.*`: health (database, model endpoint) and machine metrics.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use atelier_protocol::{Health, HealthCheck, HealthStatus, SystemMetrics};

use crate::App;

/// Health answers are cached briefly so a polling client cannot hammer the model server.
const HEALTH_TTL: Duration = Duration::from_secs(3);
/// How long the model endpoint may take to answer a health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(crate) struct SystemState {
    sys: Mutex<Option<sysinfo::System>>,
    health: tokio::sync::Mutex<Option<(Instant, Health)>>,
}

impl App {
    /// The health of the parts, for `GET /health` and `system.health`. Details say what is
    /// wrong in words and name no paths or secrets.
    pub async fn health(&self) -> Health {
        let mut cached = self.inner.system.health.lock().await;
        if let Some((at, health)) = cached.as_ref()
            && at.elapsed() < HEALTH_TTL
        {
            return health.clone();
        }
        let health = self.probe_health().await;
        *cached = Some((Instant::now(), health.clone()));
        health
    }

    async fn probe_health(&self) -> Health {
        let mut checks = Vec::new();
        let db =
            match self.store().read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).await
            {
                Ok(_) => HealthCheck { name: "database".into(), status: HealthStatus::Ok, detail: None },
                Err(_) => HealthCheck {
                    name: "database".into(),
                    status: HealthStatus::Down,
                    detail: Some("the database cannot be read".into()),
                },
            };
        checks.push(db);
        let provider = self.provider().clone();
        let model = match tokio::time::timeout(PROBE_TIMEOUT, provider.version()).await {
            Ok(Ok(version)) => HealthCheck {
                name: "model_endpoint".into(),
                status: HealthStatus::Ok,
                detail: Some(format!("{} {version}", provider.name())),
            },
            Ok(Err(_)) | Err(_) => HealthCheck {
                name: "model_endpoint".into(),
                status: HealthStatus::Degraded,
                detail: Some(format!(
                    "the {} model server is not reachable; chat replies will fail until it is \
                     started",
                    provider.name()
                )),
            },
        };
        checks.push(model);
        let status = if checks.iter().any(|c| c.status == HealthStatus::Down) {
            HealthStatus::Down
        } else if checks.iter().any(|c| c.status == HealthStatus::Degraded) {
            HealthStatus::Degraded
        } else {
            HealthStatus::Ok
        };
        Health { status, checks, version: Some(env!("CARGO_PKG_VERSION").to_owned()) }
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
