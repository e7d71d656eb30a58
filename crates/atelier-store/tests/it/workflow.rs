//! Workflows, their agents and their durable steps.

use atelier_store::{AgentRow, StoreError, WorkflowRow, new_id, now};

use crate::{project, temp_store};

fn workflow(project_id: &str) -> WorkflowRow {
    WorkflowRow {
        id: new_id("wf"),
        project_id: project_id.to_owned(),
        request: "add a CLI".into(),
        options: "{}".into(),
        state: "planning".into(),
        stage: "plan".into(),
        progress: 0.0,
        plan: None,
        summary: None,
        commit_id: None,
        error: None,
        created_at: now(),
        updated_at: now(),
    }
}

fn agent(workflow_id: &str, role: &str, name: &str) -> AgentRow {
    AgentRow {
        id: new_id("agt"),
        workflow_id: workflow_id.to_owned(),
        role: role.into(),
        name: name.into(),
        parent_id: None,
        status: "idle".into(),
        task: String::new(),
        metrics: "{}".into(),
        created_at: now(),
        updated_at: now(),
    }
}

#[tokio::test]
async fn a_workflow_its_agents_and_steps_round_trip_and_unfinished_ones_are_found() {
    let (_dir, store) = temp_store();
    let p = project("app");
    store.insert_project(p.clone()).await.unwrap();
    let mut w = workflow(&p.id);
    store.insert_workflow(w.clone()).await.unwrap();
    assert_eq!(store.unfinished_workflows().await.unwrap().len(), 1);

    w.state = "completed".into();
    w.progress = 1.0;
    w.commit_id = Some("abc123".into());
    w.plan = Some(r#"{"summary":"x"}"#.into());
    store.update_workflow(w.clone()).await.unwrap();
    let back = store.get_workflow(&w.id).await.unwrap();
    assert_eq!(
        (back.state.as_str(), back.progress, back.commit_id.as_deref()),
        ("completed", 1.0, Some("abc123"))
    );
    assert!(store.unfinished_workflows().await.unwrap().is_empty());
    assert_eq!(store.list_workflows(Some(p.id.clone())).await.unwrap().len(), 1);
    assert!(store.list_workflows(Some("prj_other".into())).await.unwrap().is_empty());

    let mut master = agent(&w.id, "master", "Master");
    store.upsert_agent(master.clone()).await.unwrap();
    master.status = "busy".into();
    master.task = "planning".into();
    store.upsert_agent(master.clone()).await.unwrap();
    let agents = store.list_agents(Some(w.id.clone())).await.unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!((agents[0].status.as_str(), agents[0].task.as_str()), ("busy", "planning"));

    assert!(store.record_step(&w.id, "plan", "first".into()).await.unwrap());
    assert!(!store.record_step(&w.id, "plan", "second".into()).await.unwrap(), "a key is recorded once");
    assert_eq!(store.get_step(&w.id, "plan").await.unwrap().as_deref(), Some("first"));
    assert_eq!(store.get_step(&w.id, "coder:a.rs").await.unwrap(), None);
    assert_eq!(store.list_steps(&w.id).await.unwrap(), vec![("plan".to_owned(), "first".to_owned())]);

    store.delete_project(&p.id).await.unwrap();
    assert!(matches!(store.get_workflow(&w.id).await, Err(StoreError::NotFound { .. })));
    assert!(store.list_agents(Some(w.id.clone())).await.unwrap().is_empty());
    assert!(store.list_steps(&w.id).await.unwrap().is_empty(), "steps go with their workflow");
}

#[tokio::test]
async fn a_workflow_needs_its_project() {
    let (_dir, store) = temp_store();
    let err = store.insert_workflow(workflow("prj_missing")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "project", .. }), "{err:?}");
}
