//! Paging through a chat's history and recovering replies cut off by a restart.

use atelier_store::{MessageRole, MessageStatus, StoreError};

use crate::{message, store_with_session};

fn contents(page: &[atelier_store::MessageRow]) -> Vec<String> {
    page.iter().map(|m| m.content.clone()).collect()
}

fn numbered(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("message {i}")).collect()
}

#[tokio::test]
async fn history_pages_backwards_and_each_page_reads_oldest_first() {
    let (_dir, store, id) = store_with_session().await;
    let other = crate::session(None);
    store.insert_session(other.clone(), Vec::new()).await.unwrap();
    for i in 1..=25 {
        store.insert_message(message(&id, MessageRole::User, &format!("message {i}"))).await.unwrap();
        // Interleaved with another chat, which must never leak into this one's pages.
        store.insert_message(message(&other.id, MessageRole::User, "elsewhere")).await.unwrap();
    }

    let newest = store.list_messages(&id, None, 10).await.unwrap();
    assert_eq!(contents(&newest), numbered(16..=25));
    let older = store.list_messages(&id, Some(newest[0].id.clone()), 10).await.unwrap();
    assert_eq!(contents(&older), numbered(6..=15));
    let oldest = store.list_messages(&id, Some(older[0].id.clone()), 10).await.unwrap();
    assert_eq!(contents(&oldest), numbered(1..=5));
    let beyond = store.list_messages(&id, Some(oldest[0].id.clone()), 10).await.unwrap();
    assert!(beyond.is_empty());

    assert!(store.list_messages(&id, None, 0).await.unwrap().is_empty());
    assert_eq!(store.list_messages(&id, None, 100).await.unwrap().len(), 25);
}

#[tokio::test]
async fn paging_from_an_unknown_message_is_an_error() {
    let (_dir, store, id) = store_with_session().await;
    let other = crate::session(None);
    let foreign = message(&other.id, MessageRole::User, "not yours");
    store.insert_session(other, vec![foreign.clone()]).await.unwrap();

    for before in ["msg_missing".to_owned(), foreign.id] {
        match store.list_messages(&id, Some(before.clone()), 10).await {
            Err(StoreError::NotFound { what: "message", id }) => assert_eq!(id, before),
            other => panic!("expected message not found, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn replies_streaming_at_start_up_become_interrupted() {
    let (_dir, store, id) = store_with_session().await;
    let question = message(&id, MessageRole::User, "explain borrowck");
    let mut cut_off = message(&id, MessageRole::Assistant, "The borrow checker");
    cut_off.status = MessageStatus::Streaming;
    let mut also_cut_off = cut_off.clone();
    also_cut_off.id = atelier_store::new_id("msg");
    store.insert_message(question.clone()).await.unwrap();
    store.insert_message(cut_off.clone()).await.unwrap();
    store.insert_message(also_cut_off).await.unwrap();

    assert_eq!(store.interrupt_streaming().await.unwrap().len(), 2);
    let got = store.get_message(&cut_off.id).await.unwrap();
    assert_eq!(got.status, MessageStatus::Interrupted);
    assert_eq!(got.content, "The borrow checker", "the partial reply is kept");
    assert_eq!(store.get_message(&question.id).await.unwrap().status, MessageStatus::Complete);
    assert_eq!(store.interrupt_streaming().await.unwrap().len(), 0);
}
