//! Round trips of the domain methods: what goes in comes back, and errors say what's wrong.

use atelier_store::{
    Counts, EventRow, MessageRole, MessageStatus, StoreError, UsageRow, UsageTotals, new_id, now,
};

use crate::{message, project, session, store_with_session, temp_store};

#[tokio::test]
async fn projects_round_trip() {
    let (_dir, store) = temp_store();
    let web = project("web");
    let api = project("api");
    store.insert_project(web.clone()).await.unwrap();
    store.insert_project(api.clone()).await.unwrap();

    assert_eq!(store.get_project(&web.id).await.unwrap(), web);
    assert_eq!(store.list_projects().await.unwrap(), vec![api.clone(), web.clone()], "by name");

    let same_folder = atelier_store::ProjectRow { id: new_id("prj"), ..web.clone() };
    match store.insert_project(same_folder).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains(&web.path), "{msg}"),
        other => panic!("expected a conflict on the path, got {other:?}"),
    }
    let same_id = atelier_store::ProjectRow { path: "/elsewhere".into(), ..web.clone() };
    match store.insert_project(same_id).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains(&web.id), "{msg}"),
        other => panic!("expected a conflict on the id, got {other:?}"),
    }

    store.delete_project(&api.id).await.unwrap();
    assert_eq!(store.list_projects().await.unwrap(), vec![web]);
    assert!(matches!(store.get_project(&api.id).await, Err(StoreError::NotFound { what: "project", .. })));
    assert!(matches!(store.delete_project(&api.id).await, Err(StoreError::NotFound { what: "project", .. })));
}

#[tokio::test]
async fn a_session_is_stored_with_its_first_messages() {
    let (_dir, store) = temp_store();
    let p = project("demo");
    store.insert_project(p.clone()).await.unwrap();
    let s = session(Some(&p.id));
    let first = vec![
        message(&s.id, MessageRole::System, "You are a helpful assistant."),
        message(&s.id, MessageRole::User, "Write a parser"),
    ];
    store.insert_session(s.clone(), first.clone()).await.unwrap();

    assert_eq!(store.get_session(&s.id).await.unwrap(), s);
    assert_eq!(store.list_messages(&s.id, None, 10).await.unwrap(), first);

    store.set_session_title(&s.id, "Parser work".into()).await.unwrap();
    assert_eq!(store.get_session(&s.id).await.unwrap().title, "Parser work");
    assert!(matches!(
        store.set_session_title("ses_missing", "x".into()).await,
        Err(StoreError::NotFound { what: "session", .. })
    ));
}

#[tokio::test]
async fn a_session_insert_is_all_or_nothing() {
    let (_dir, store, existing) = store_with_session().await;
    let taken = message(&existing, MessageRole::User, "already here");
    store.insert_message(taken.clone()).await.unwrap();

    // The second message reuses an id, so the whole insert must fail, session included.
    let s = session(None);
    let clash = atelier_store::MessageRow { session_id: s.id.clone(), ..taken };
    let first = vec![message(&s.id, MessageRole::User, "hello"), clash];
    assert!(matches!(store.insert_session(s.clone(), first).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.get_session(&s.id).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.counts().await.unwrap().messages, 1);

    let lost = session(Some("prj_missing"));
    match store.insert_session(lost, Vec::new()).await {
        Err(StoreError::NotFound { what: "project", id }) => assert_eq!(id, "prj_missing"),
        other => panic!("expected project not found, got {other:?}"),
    }
    let same_id = atelier_store::SessionRow { id: existing, ..session(None) };
    assert!(matches!(store.insert_session(same_id, Vec::new()).await, Err(StoreError::Conflict(_))));
}

#[tokio::test]
async fn sessions_are_listed_newest_first_and_by_project() {
    let (_dir, store) = temp_store();
    let p = project("demo");
    store.insert_project(p.clone()).await.unwrap();
    let mut ids = Vec::new();
    for (i, in_project) in [true, false, true].into_iter().enumerate() {
        let mut s = session(in_project.then_some(p.id.as_str()));
        s.created_at = format!("2025-01-01T00:00:0{i}.000Z");
        ids.push(s.id.clone());
        store.insert_session(s, Vec::new()).await.unwrap();
    }
    let all: Vec<String> = store.list_sessions(None).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(all, vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let mine: Vec<String> =
        store.list_sessions(Some(p.id.clone())).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(mine, vec![ids[2].clone(), ids[0].clone()]);
    assert!(store.list_sessions(Some("prj_other".into())).await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_project_deletes_its_sessions_and_messages() {
    let (_dir, store) = temp_store();
    let doomed = project("doomed");
    let kept = project("kept");
    store.insert_project(doomed.clone()).await.unwrap();
    store.insert_project(kept.clone()).await.unwrap();
    let gone = session(Some(&doomed.id));
    let gone_msg = message(&gone.id, MessageRole::User, "ephemeral zebra notes");
    store.insert_session(gone.clone(), vec![gone_msg.clone()]).await.unwrap();
    let stays = session(Some(&kept.id));
    let stays_msg = message(&stays.id, MessageRole::User, "durable zebra notes");
    store.insert_session(stays.clone(), vec![stays_msg.clone()]).await.unwrap();

    store.delete_project(&doomed.id).await.unwrap();

    assert!(matches!(store.get_session(&gone.id).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.get_message(&gone_msg.id).await, Err(StoreError::NotFound { .. })));
    let hits = store.search_messages("zebra", None, 10).await.unwrap();
    let hit_ids: Vec<&str> = hits.iter().map(|(m, _)| m.id.as_str()).collect();
    assert_eq!(hit_ids, vec![stays_msg.id.as_str()], "deleted text is gone from search too");
    assert_eq!(store.counts().await.unwrap(), Counts { projects: 1, sessions: 1, messages: 1 });
    assert_eq!(store.get_message(&stays_msg.id).await.unwrap(), stays_msg);
}

#[tokio::test]
async fn deleting_a_session_deletes_its_messages() {
    let (_dir, store, id) = store_with_session().await;
    let m = message(&id, MessageRole::User, "bye");
    store.insert_message(m.clone()).await.unwrap();
    store.delete_session(&id).await.unwrap();
    assert!(matches!(store.get_message(&m.id).await, Err(StoreError::NotFound { .. })));
    assert!(store.search_messages("bye", None, 10).await.unwrap().is_empty());
    assert!(matches!(store.delete_session(&id).await, Err(StoreError::NotFound { what: "session", .. })));
}

#[tokio::test]
async fn messages_are_inserted_and_updated() {
    let (_dir, store, id) = store_with_session().await;
    let mut reply = message(&id, MessageRole::Assistant, "");
    reply.status = MessageStatus::Streaming;
    reply.model = Some("qwen3:8b".into());
    store.insert_message(reply.clone()).await.unwrap();
    assert_eq!(store.get_message(&reply.id).await.unwrap(), reply);

    // A streaming chunk: status left alone.
    store.update_message(&reply.id, "Hel".into(), "thinking".into(), None, None).await.unwrap();
    let got = store.get_message(&reply.id).await.unwrap();
    assert_eq!((got.content.as_str(), got.reasoning.as_str()), ("Hel", "thinking"));
    assert_eq!(got.status, MessageStatus::Streaming);
    assert!(got.updated_at >= reply.updated_at);

    // The model fails half way.
    store
        .update_message(
            &reply.id,
            "Hello".into(),
            "thinking".into(),
            Some(MessageStatus::Failed),
            Some("connection reset".into()),
        )
        .await
        .unwrap();
    let got = store.get_message(&reply.id).await.unwrap();
    assert_eq!(got.status, MessageStatus::Failed);
    assert_eq!(got.error.as_deref(), Some("connection reset"));
    assert_eq!(got.content, "Hello");
    assert_eq!(got.model.as_deref(), Some("qwen3:8b"));

    assert!(matches!(
        store.update_message("msg_missing", "x".into(), String::new(), None, None).await,
        Err(StoreError::NotFound { what: "message", .. })
    ));
    assert!(matches!(store.insert_message(reply).await, Err(StoreError::Conflict(_))));
    match store.insert_message(message("ses_missing", MessageRole::User, "hi")).await {
        Err(StoreError::NotFound { what: "session", id }) => assert_eq!(id, "ses_missing"),
        other => panic!("expected session not found, got {other:?}"),
    }
}

#[test]
fn roles_and_statuses_round_trip_as_text() {
    for role in [MessageRole::System, MessageRole::User, MessageRole::Assistant, MessageRole::Tool] {
        assert_eq!(MessageRole::parse(role.as_str()), Some(role));
    }
    for status in
        [MessageStatus::Complete, MessageStatus::Streaming, MessageStatus::Interrupted, MessageStatus::Failed]
    {
        assert_eq!(MessageStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(MessageRole::parse("Tool"), None);
    assert_eq!(MessageStatus::parse("Complete"), None);
}

fn usage(session_id: Option<&str>, prompt: u32, completion: u32) -> UsageRow {
    UsageRow {
        id: new_id("use"),
        provider: "ollama".into(),
        model: "qwen3:8b".into(),
        session_id: session_id.map(str::to_owned),
        workflow_id: None,
        agent_id: None,
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_ms: 1200,
        load_ms: 5,
        prompt_eval_ms: 100,
        eval_ms: 1000,
        created_at: now(),
    }
}

#[tokio::test]
async fn usage_is_totalled_per_session_and_overall() {
    let (_dir, store, id) = store_with_session().await;
    assert_eq!(store.usage_totals(None).await.unwrap(), UsageTotals::default());
    store.insert_usage(usage(Some(&id), 100, 20)).await.unwrap();
    store.insert_usage(usage(Some(&id), 300, 40)).await.unwrap();
    store.insert_usage(usage(None, 7, 3)).await.unwrap();

    let session_totals = UsageTotals { calls: 2, prompt_tokens: 400, completion_tokens: 60 };
    assert_eq!(store.usage_totals(Some(id.clone())).await.unwrap(), session_totals);
    let all = UsageTotals { calls: 3, prompt_tokens: 407, completion_tokens: 63 };
    assert_eq!(store.usage_totals(None).await.unwrap(), all);

    // What was spent stays spent when the chat is deleted.
    store.delete_session(&id).await.unwrap();
    assert_eq!(store.usage_totals(None).await.unwrap(), all);
    assert_eq!(store.usage_totals(Some(id)).await.unwrap(), session_totals);
}

#[tokio::test]
async fn settings_are_stored_and_replaced() {
    let (_dir, store) = temp_store();
    assert_eq!(store.get_setting("model").await.unwrap(), None);
    store.set_setting("model", "qwen3:8b".into()).await.unwrap();
    store.set_setting("model", "llama3.2".into()).await.unwrap();
    assert_eq!(store.get_setting("model").await.unwrap().as_deref(), Some("llama3.2"));
}

fn event(seq: u64) -> EventRow {
    EventRow {
        seq,
        topic: if seq.is_multiple_of(2) { "system".into() } else { format!("session/ses_{seq}") },
        kind: "message.delta".into(),
        time: format!("2025-01-01T00:00:{seq:02}.000Z"),
        data: format!(r#"{{"n":{seq}}}"#),
    }
}

#[tokio::test]
async fn events_are_replayed_newest_last() {
    let (_dir, store) = temp_store();
    assert_eq!(store.max_event_seq_blocking().unwrap(), 0);
    assert!(store.recent_events_blocking(10).unwrap().is_empty());

    for seq in 1..=5 {
        store.insert_event_detached(event(seq));
    }
    // A duplicate seq is a bug in the caller; it is logged and the earlier row kept.
    store.insert_event_detached(EventRow { data: "{}".into(), ..event(5) });
    store.flush().await.unwrap();

    assert_eq!(store.max_event_seq_blocking().unwrap(), 5);
    let recent = store.recent_events_blocking(3).unwrap();
    assert_eq!(recent, vec![event(3), event(4), event(5)]);
}

#[tokio::test]
async fn integrity_check_and_counts_report_a_healthy_database() {
    let (_dir, store, id) = store_with_session().await;
    store.insert_message(message(&id, MessageRole::User, "one")).await.unwrap();
    store.insert_message(message(&id, MessageRole::Assistant, "two")).await.unwrap();
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
    assert_eq!(store.counts().await.unwrap(), Counts { projects: 0, sessions: 1, messages: 2 });
}
