//! `workflows.*`, `agents.list` and `coordinator.metrics`: the API over the workflow engine in
//! atelier-agents, whose events go out on this App's bus.

use std::collections::HashMap;
use std::path::PathBuf;

use atelier_agents::{Engine, Events, Options, WorkflowError};
use atelier_protocol::{Agent, CoordinatorMetrics, UsageLine, Workflow, WorkflowUsage, WrittenFile};
use atelier_store::{AgentRow, WorkflowRow};
use serde_json::Value;

use crate::App;
use crate::bus::EventBus;
use crate::error::{CoreError, CoreResult};

/// The engine's events, published on the bus (after the engine saved what they announce).
/// Each `file.written` also goes to `written` (workflow id, path) for the code index.
pub(crate) struct BusEvents {
    pub bus: EventBus,
    pub written: tokio::sync::mpsc::UnboundedSender<(String, String)>,
}

impl Events for BusEvents {
    fn publish(&self, topic: &str, kind: &str, data: Value) {
        if kind == "file.written"
            && let (Some(workflow), Some(path)) = (topic.strip_prefix("workflow/"), data["path"].as_str())
            && self.written.send((workflow.to_owned(), path.to_owned())).is_err()
        {
            tracing::debug!("the code index no longer hears about workflow writes");
        }
        self.bus.publish(topic, kind, data);
    }
}

impl App {
    /// Hands each file a workflow writes to its project's code index.
    pub(crate) async fn index_workflow_writes(
        self,
        mut written: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    ) {
        let mut projects: HashMap<String, String> = HashMap::new();
        loop {
            let next = tokio::select! {
                () = self.inner.shutdown.cancelled() => return,
                next = written.recv() => next,
            };
            let Some((workflow, path)) = next else { return };
            let project = match projects.get(&workflow) {
                Some(p) => p.clone(),
                None => match self.store().get_workflow(&workflow).await {
                    Ok(row) => {
                        projects.insert(workflow, row.project_id.clone());
                        row.project_id
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "a written file of an unknown workflow");
                        continue;
                    }
                },
            };
            self.index_paths_changed(&project, vec![path]);
        }
    }
}

impl From<WorkflowError> for CoreError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::NotFound(id) => CoreError::NotFound { what: "workflow", id },
            WorkflowError::Conflict(m) => CoreError::Conflict(m),
            WorkflowError::Invalid(m) | WorkflowError::Plan(m) => CoreError::InvalidInput(m),
            WorkflowError::Store(e) => CoreError::Store(e),
            WorkflowError::Llm(e) => CoreError::Llm(e),
            WorkflowError::Cancelled => CoreError::Cancelled,
            WorkflowError::Sandbox(m) => CoreError::Unavailable(m),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

pub(crate) fn agent_to_api(row: AgentRow) -> Agent {
    Agent {
        metrics: serde_json::from_str(&row.metrics).unwrap_or_else(|_| Value::Object(Default::default())),
        id: row.id,
        role: row.role,
        name: row.name,
        parent_id: row.parent_id,
        status: row.status,
        task: row.task,
    }
}

fn workflow_to_api(row: WorkflowRow, agents: Option<Vec<Agent>>) -> Workflow {
    Workflow {
        plan: row.plan.as_deref().and_then(|p| serde_json::from_str(p).ok()),
        id: row.id,
        project_id: row.project_id,
        request: row.request,
        state: row.state,
        progress: row.progress,
        created_at: row.created_at,
        stage: row.stage,
        summary: row.summary,
        commit: row.commit_id,
        error: row.error,
        agents,
        usage: None,
        files: None,
        review: None,
    }
}

/// A file change as the API shows it.
pub(crate) fn change_to_api(change: atelier_agents::FileChange) -> atelier_protocol::FileChange {
    atelier_protocol::FileChange {
        path: change.path,
        diff: change.diff,
        before: change.before,
        after: change.after,
        hunks: change
            .hunks
            .into_iter()
            .map(|h| atelier_protocol::DiffHunk {
                index: h.index as u32,
                old_start: h.old_start as u32,
                old_lines: h.old_lines as u32,
                new_start: h.new_start as u32,
                new_lines: h.new_lines as u32,
            })
            .collect(),
        additions: change.additions as u32,
        deletions: change.deletions as u32,
    }
}

/// Rolls the ledger's per-agent totals up per module (a coder's module is its manager's) and
/// for the whole workflow.
fn rollup(agents: &[AgentRow], by_agent: Vec<(String, atelier_store::UsageTotals)>) -> WorkflowUsage {
    let module_of = |agent_id: &str| -> String {
        let Some(agent) = agents.iter().find(|a| a.id == agent_id) else { return String::new() };
        match agent.role.as_str() {
            "manager" => agent.name.clone(),
            "coder" => agent
                .parent_id
                .as_deref()
                .and_then(|p| agents.iter().find(|a| a.id == p))
                .filter(|p| p.role == "manager")
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "fix".to_owned()),
            _ => "plan".to_owned(),
        }
    };
    let mut usage = WorkflowUsage::default();
    let mut modules: Vec<UsageLine> = Vec::new();
    for (agent_id, t) in by_agent {
        let line = UsageLine {
            key: agent_id.clone(),
            calls: t.calls,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
        };
        usage.total.calls += t.calls;
        usage.total.prompt_tokens += t.prompt_tokens;
        usage.total.completion_tokens += t.completion_tokens;
        let module = module_of(&agent_id);
        match modules.iter_mut().find(|m| m.key == module) {
            Some(m) => {
                m.calls += t.calls;
                m.prompt_tokens += t.prompt_tokens;
                m.completion_tokens += t.completion_tokens;
            }
            None => modules.push(UsageLine { key: module, ..line.clone() }),
        }
        usage.by_agent.push(line);
    }
    usage.by_agent.sort_by(|a, b| a.key.cmp(&b.key));
    modules.sort_by(|a, b| a.key.cmp(&b.key));
    usage.by_module = modules;
    usage
}

impl App {
    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub async fn start_workflow(
        &self,
        project_id: &str,
        request: &str,
        options: Option<Value>,
    ) -> CoreResult<Workflow> {
        let project = self.store().get_project(project_id).await?;
        // A review the request does not ask for or decline follows the setting.
        let review_given = options.as_ref().is_some_and(|o| o.get("review").is_some_and(|r| !r.is_null()));
        let mut options: Options = match options {
            None | Some(Value::Null) => Options::default(),
            Some(v) => serde_json::from_value(v)
                .map_err(|e| CoreError::InvalidInput(format!("invalid workflow options: {e}")))?,
        };
        if !review_given {
            options.review = self.setting("workflows.review").await?.as_deref() == Some("true");
        }
        // Roles the request leaves open take their model from Settings.
        for role in ["master", "manager", "coder"] {
            if !options.models.contains_key(role)
                && let Some(model) = self.setting(&format!("model.{role}")).await?
            {
                options.models.insert(role.to_owned(), model);
            }
        }
        let row = self.engine().start(project_id, PathBuf::from(project.path), request, options).await?;
        Ok(workflow_to_api(row, None))
    }

    /// `pause`, `resume` and `cancel` a running workflow; `retry` a failed one.
    pub async fn control_workflow(&self, id: &str, action: &str) -> CoreResult<Workflow> {
        let row = if action == "retry" {
            let workflow = self.store().get_workflow(id).await?;
            let project = self.store().get_project(&workflow.project_id).await?;
            self.engine().retry(id, PathBuf::from(project.path)).await?
        } else {
            self.engine().control(id, action).await?
        };
        Ok(workflow_to_api(row, None))
    }

    pub async fn approve_plan(&self, id: &str, plan: Option<Value>) -> CoreResult<Workflow> {
        let plan = match plan {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value(v)
                    .map_err(|e| CoreError::InvalidInput(format!("the plan has the wrong shape: {e}")))?,
            ),
        };
        self.engine().approve(id, plan).await?;
        self.get_workflow(id).await
    }

    /// The person's review of a workflow in `reviewing`; answers with the workflow once the
    /// decision has been taken up.
    pub async fn review_workflow(
        &self,
        id: &str,
        accept: Vec<atelier_protocol::ReviewAccept>,
        reject: Vec<String>,
    ) -> CoreResult<Workflow> {
        let accept = accept
            .into_iter()
            .map(|a| match a {
                atelier_protocol::ReviewAccept::Whole(path) => atelier_agents::Accepted::Whole(path),
                atelier_protocol::ReviewAccept::Hunks { path, hunks } => atelier_agents::Accepted::Hunks {
                    path,
                    hunks: hunks.into_iter().map(|h| h as usize).collect(),
                },
            })
            .collect();
        self.engine().review(id, atelier_agents::Decision { accept, reject }).await?;
        // The run task leaves `reviewing` as soon as it has the decision.
        for _ in 0..50 {
            if self.store().get_workflow(id).await?.state != "reviewing" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.get_workflow(id).await
    }

    pub async fn get_workflow(&self, id: &str) -> CoreResult<Workflow> {
        let row = self.store().get_workflow(id).await?;
        let agents = self.store().list_agents(Some(id.to_owned())).await?;
        let mut usage = rollup(&agents, self.store().workflow_usage(id).await?);
        let steps = self.store().list_steps(id).await?;
        let edits: Vec<&str> =
            steps.iter().filter(|(k, _)| k.starts_with("edit:")).map(|(_, v)| v.as_str()).collect();
        if !edits.is_empty() {
            let options: atelier_agents::Options = serde_json::from_str(&row.options).unwrap_or_default();
            let model = options
                .models
                .get("coder")
                .cloned()
                .or(options.model)
                .or_else(|| self.inner.config.default_model.clone())
                .unwrap_or_else(|| "default".to_owned());
            usage.edits = Some(vec![atelier_protocol::EditShare {
                model,
                attempted: edits.len() as u32,
                well_formed: edits.iter().filter(|v| **v == "ok").count() as u32,
            }]);
        }
        let mut workflow = workflow_to_api(row, Some(agents.into_iter().map(agent_to_api).collect()));
        workflow.usage = Some(usage);
        let files = atelier_agents::written_files(self.store(), id).await?;
        workflow.files = Some(files.into_iter().map(|(path, bytes)| WrittenFile { path, bytes }).collect());
        if workflow.state == "reviewing"
            && let Some(files) = atelier_agents::pending_review(self.store(), id).await?
        {
            workflow.review = Some(atelier_protocol::WorkflowReview {
                files: files.into_iter().map(change_to_api).collect(),
            });
        }
        Ok(workflow)
    }

    pub async fn list_workflows(&self, project_id: Option<String>) -> CoreResult<Vec<Workflow>> {
        let rows = self.store().list_workflows(project_id).await?;
        Ok(rows.into_iter().map(|r| workflow_to_api(r, None)).collect())
    }

    pub async fn list_agents(&self, workflow_id: Option<String>) -> CoreResult<Vec<Agent>> {
        Ok(self.store().list_agents(workflow_id).await?.into_iter().map(agent_to_api).collect())
    }

    pub async fn coordinator_metrics(&self) -> CoreResult<CoordinatorMetrics> {
        let counts = self.store().counts().await?;
        let workflows = self.store().list_workflows(None).await?.len() as u64;
        let agents = self.store().list_agents(None).await?;
        Ok(CoordinatorMetrics {
            total_messages: counts.messages,
            total_workflows: workflows,
            registered_agents: agents.len() as u64,
            healthy_agents: agents.iter().filter(|a| a.status != "error").count() as u64,
            active_workflows: self.engine().active() as u64,
        })
    }

    /// At start-up: workflows that had not finished run again from their last recorded step,
    /// or wait paused when the `resume_workflows` setting is `paused`.
    pub(crate) async fn resume_workflows(&self) -> CoreResult<()> {
        let paused = self.store().get_setting("resume_workflows").await?.as_deref() == Some("paused");
        let roots: HashMap<String, PathBuf> =
            self.store().list_projects().await?.into_iter().map(|p| (p.id, PathBuf::from(p.path))).collect();
        let n = self.engine().resume_unfinished(&roots, paused).await?;
        if n > 0 {
            tracing::info!(workflows = n, paused, "resuming unfinished workflows");
        }
        Ok(())
    }
}
