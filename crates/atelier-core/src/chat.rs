//! Chat sessions: creating one stores the agent's system and seed messages first; sending a
//! message stores it, answers at once, and streams the reply as `message.delta` events while the
//! text is saved about every 100 ms, so a crash keeps the partial reply.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use atelier_llm::{ChatMessage, ChatRequest, Completion, Delta, LlmError};
use atelier_protocol::{
    ContextUsage, Message, MessageDelta, MessageEvent, MessageStatus, MessagesSent, Role, Session,
    event_types as ev, to_value, topics,
};
use atelier_store::{MessageRole, MessageRow, SessionRow, UsageRow, new_id, now};
use tokio_util::sync::CancellationToken;

use crate::error::{CoreError, CoreResult};
use crate::{App, agent};

/// How often a streaming reply's text is written to the database.
pub(crate) const PERSIST_EVERY: Duration = Duration::from_millis(100);
/// The most history sent to the model with each message.
pub(crate) const HISTORY_LIMIT: usize = 200;
/// Longest accepted message, in bytes.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
const DEFAULT_TITLE: &str = "New chat";
const TOOLS_NEED_A_PROJECT: &str =
    "tools work on a project's files: open the chat in a project, or leave tools off";

/// Replies being streamed, by session: at most one per session.
#[derive(Default)]
pub(crate) struct Chats {
    active: Mutex<HashMap<String, ActiveReply>>,
    context_lengths: Mutex<HashMap<String, Option<u32>>>,
    /// Whether a model takes tools natively, as its server said (`None`: it did not say).
    tool_support: Mutex<HashMap<String, Option<bool>>>,
}

struct ActiveReply {
    reply_id: String,
    cancel: CancellationToken,
}

/// Room kept for the reply when sizing a chat's context window.
const REPLY_RESERVE_TOKENS: u32 = 2048;

impl Chats {
    fn active(&self) -> MutexGuard<'_, HashMap<String, ActiveReply>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn active_count(&self) -> usize {
        self.active().len()
    }
}

pub(crate) fn role_to_api(role: MessageRole) -> Role {
    match role {
        MessageRole::System => Role::System,
        MessageRole::User => Role::User,
        MessageRole::Assistant => Role::Assistant,
        MessageRole::Tool => Role::Tool,
    }
}

fn role_from_api(role: Role) -> MessageRole {
    match role {
        Role::System => MessageRole::System,
        Role::User => MessageRole::User,
        Role::Assistant => MessageRole::Assistant,
        Role::Tool => MessageRole::Tool,
    }
}

fn status_to_api(status: atelier_store::MessageStatus) -> MessageStatus {
    use atelier_store::MessageStatus as S;
    match status {
        S::Complete => MessageStatus::Complete,
        S::Streaming => MessageStatus::Streaming,
        S::Interrupted => MessageStatus::Interrupted,
        S::Failed => MessageStatus::Failed,
    }
}

pub(crate) fn message_to_api(row: MessageRow) -> Message {
    let tool_calls = row.tool.calls.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
    let tool_status = match row.tool.status.as_deref() {
        Some("ok") => Some(atelier_protocol::ToolStatus::Ok),
        Some("error") => Some(atelier_protocol::ToolStatus::Error),
        Some("denied") => Some(atelier_protocol::ToolStatus::Denied),
        _ => None,
    };
    Message {
        tool_calls,
        tool_call_id: row.tool.call_id,
        name: row.tool.name,
        tool_status,
        kind: row.tool.kind,
        id: row.id,
        session_id: row.session_id,
        role: role_to_api(row.role),
        content: row.content,
        status: status_to_api(row.status),
        created_at: row.created_at,
        reasoning: row.reasoning,
        error: row.error,
        model: row.model,
    }
}

pub(crate) fn session_to_api(row: SessionRow) -> Session {
    Session {
        id: row.id,
        project_id: row.project_id,
        agent: row.agent,
        title: row.title,
        created_at: row.created_at,
        model: row.model,
        tools: row.tools,
    }
}

pub(crate) fn message_row(session_id: &str, role: MessageRole, content: &str) -> MessageRow {
    let time = now();
    MessageRow {
        id: new_id("msg"),
        session_id: session_id.to_owned(),
        role,
        content: content.to_owned(),
        reasoning: String::new(),
        status: atelier_store::MessageStatus::Complete,
        error: None,
        model: None,
        created_at: time.clone(),
        updated_at: time,
        tool: Default::default(),
    }
}

fn title_from(content: &str) -> String {
    let line = content.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or(DEFAULT_TITLE);
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

impl App {
    pub async fn create_session(
        &self,
        project_id: Option<String>,
        agent_id: Option<String>,
        model: Option<String>,
        tools: bool,
    ) -> CoreResult<Session> {
        let agent_id = agent_id.unwrap_or_else(|| "assistant".to_owned());
        let agent = agent::find(&agent_id).ok_or_else(|| {
            let known: Vec<_> = agent::chat_agents().iter().map(|a| a.id).collect();
            CoreError::InvalidInput(format!("unknown agent `{agent_id}`; known agents: {}", known.join(", ")))
        })?;
        if let Some(project) = &project_id {
            self.store().get_project(project).await?;
        }
        if model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(CoreError::InvalidInput("model must not be empty".into()));
        }
        if tools && project_id.is_none() {
            return Err(CoreError::InvalidInput(TOOLS_NEED_A_PROJECT.into()));
        }
        let session = SessionRow {
            id: new_id("ses"),
            project_id,
            agent: agent.id.to_owned(),
            title: DEFAULT_TITLE.to_owned(),
            model,
            created_at: now(),
            tools,
        };
        let mut first = vec![message_row(&session.id, MessageRole::System, agent.system)];
        first.extend(
            agent.seeds.iter().map(|(role, text)| message_row(&session.id, role_from_api(*role), text)),
        );
        self.store().insert_session(session.clone(), first.clone()).await?;
        let api = session_to_api(session);
        let topic = topics::session(&api.id);
        self.bus().publish(&topic, ev::SESSION_CREATED, to_value(&api));
        for row in first {
            let event = MessageEvent { message: message_to_api(row) };
            self.bus().publish(&topic, ev::MESSAGE_CREATED, to_value(&event));
        }
        Ok(api)
    }

    pub async fn list_sessions(&self, project_id: Option<String>) -> CoreResult<Vec<Session>> {
        let rows = self.store().list_sessions(project_id).await?;
        Ok(rows.into_iter().map(session_to_api).collect())
    }

    /// Gives a session the title the person chose (trimmed, at most 200 characters).
    pub async fn rename_session(&self, id: &str, title: &str) -> CoreResult<Session> {
        let title: String = title.trim().chars().take(200).collect();
        if title.is_empty() {
            return Err(CoreError::InvalidInput("the title is empty".into()));
        }
        // An unknown session is `not_found` from the update itself.
        self.store().set_session_title(id, title).await?;
        Ok(session_to_api(self.store().get_session(id).await?))
    }

    /// `sessions.update`: the title, model (`""` goes back to the default), agent or tools
    /// switch of a session; announced as `session.updated`. Takes effect from the next reply.
    pub async fn update_session(&self, p: atelier_protocol::SessionsUpdate) -> CoreResult<Session> {
        let current = self.store().get_session(&p.id).await?;
        if let Some(title) = &p.title {
            self.rename_session(&p.id, title).await?;
        }
        let model = p.model.map(|m| Some(m.trim().to_owned()).filter(|m| !m.is_empty()));
        if model.as_ref().is_some_and(|m| m.as_ref().is_some_and(|m| m.len() > 200)) {
            return Err(CoreError::InvalidInput("the model name is at most 200 characters".into()));
        }
        let agent = match p.agent {
            Some(id) => Some(
                agent::find(&id)
                    .ok_or_else(|| {
                        let known: Vec<_> = agent::chat_agents().iter().map(|a| a.id).collect();
                        CoreError::InvalidInput(format!(
                            "unknown agent `{}`; known agents: {}",
                            id.chars().take(60).collect::<String>(),
                            known.join(", ")
                        ))
                    })?
                    .id
                    .to_owned(),
            ),
            None => None,
        };
        if p.tools == Some(true) && current.project_id.is_none() {
            return Err(CoreError::InvalidInput(TOOLS_NEED_A_PROJECT.into()));
        }
        if model.is_some() || agent.is_some() || p.tools.is_some() {
            self.store().update_session(&p.id, model, agent, p.tools).await?;
        }
        let session = session_to_api(self.store().get_session(&p.id).await?);
        self.bus().publish(
            &topics::session(&p.id),
            ev::SESSION_UPDATED,
            serde_json::json!({ "session": to_value(&session) }),
        );
        Ok(session)
    }

    pub async fn delete_session(&self, id: &str) -> CoreResult<()> {
        self.store().get_session(id).await?;
        if let Some(active) = self.inner.chat.active().remove(id) {
            active.cancel.cancel();
        }
        self.store().delete_session(id).await?;
        self.bus().publish(&topics::session(id), ev::SESSION_DELETED, serde_json::json!({ "id": id }));
        Ok(())
    }

    pub async fn list_messages(
        &self,
        session_id: &str,
        before: Option<String>,
        limit: Option<u32>,
    ) -> CoreResult<Vec<Message>> {
        self.store().get_session(session_id).await?;
        let limit = limit.unwrap_or(100).clamp(1, 1000) as usize;
        let rows = self.store().list_messages(session_id, before, limit).await?;
        Ok(rows.into_iter().map(message_to_api).collect())
    }

    pub async fn search_messages(
        &self,
        query: &str,
        project_id: Option<String>,
        limit: Option<u32>,
    ) -> CoreResult<Vec<atelier_protocol::SearchHit>> {
        let limit = limit.unwrap_or(20).clamp(1, 200) as usize;
        let hits = self.store().search_messages(query, project_id, limit).await?;
        Ok(hits
            .into_iter()
            .map(|(row, snippet)| atelier_protocol::SearchHit { message: message_to_api(row), snippet })
            .collect())
    }

    /// Stores the person's message and an empty `streaming` reply, then streams the reply in
    /// the background. Returns as soon as both are stored.
    pub async fn send_message(&self, session_id: &str, content: String) -> CoreResult<MessagesSent> {
        if content.trim().is_empty() {
            return Err(CoreError::InvalidInput("the message is empty".into()));
        }
        if content.len() > MAX_MESSAGE_BYTES {
            return Err(CoreError::InvalidInput(format!(
                "the message is {} KiB; the limit is {} KiB",
                content.len() / 1024,
                MAX_MESSAGE_BYTES / 1024
            )));
        }
        let session = self.store().get_session(session_id).await?;
        let user = message_row(session_id, MessageRole::User, &content);
        let title = (session.title == DEFAULT_TITLE).then(|| title_from(&content));
        let reply_id = self.start_reply(session, Some(user.clone()), title).await?;
        Ok(MessagesSent { user_message_id: user.id, reply_id })
    }

    /// Writes a new reply to the conversation as it stands when its last reply failed (or was
    /// cut off by a stop of the app before anything arrived): the failed reply stays in the
    /// history, where the model never sees it. Answers the new reply's id.
    pub async fn retry_reply(&self, session_id: &str) -> CoreResult<String> {
        use atelier_store::MessageStatus as S;
        let session = self.store().get_session(session_id).await?;
        let last = self.store().list_messages(session_id, None, 1).await?.pop();
        let retryable = last.as_ref().is_some_and(|m| {
            m.role == MessageRole::Assistant
                && (m.status == S::Failed || (m.status == S::Interrupted && m.content.is_empty()))
        });
        if !retryable {
            return Err(CoreError::Conflict(
                "only a reply that failed can be retried, and it must be the session's last message; \
                 send a new message instead"
                    .into(),
            ));
        }
        self.start_reply(session, None, None).await
    }

    /// Stores `user` (when given) and an empty `streaming` reply, publishes both, and streams
    /// the reply in the background. One reply at a time per session.
    async fn start_reply(
        &self,
        session: SessionRow,
        user: Option<MessageRow>,
        title: Option<String>,
    ) -> CoreResult<String> {
        let session_id = session.id.clone();
        let cancel = self.inner.shutdown.child_token();
        let mut reply = message_row(&session_id, MessageRole::Assistant, "");
        reply.status = atelier_store::MessageStatus::Streaming;
        reply.model = session.model.clone();
        {
            // Claim the session before anything is stored, so two sends cannot interleave.
            let mut active = self.inner.chat.active();
            if let Some(current) = active.get(&session_id) {
                return Err(CoreError::Conflict(format!(
                    "a reply is still streaming in this session ({}); wait for it or stop it \
                     with messages.stop",
                    current.reply_id
                )));
            }
            active.insert(
                session_id.clone(),
                ActiveReply { reply_id: reply.id.clone(), cancel: cancel.clone() },
            );
        }
        let stored = async {
            if let Some(user) = &user {
                self.store().insert_message(user.clone()).await?;
            }
            self.store().insert_message(reply.clone()).await?;
            if let Some(title) = title {
                self.store().set_session_title(&session_id, title).await?;
            }
            CoreResult::Ok(())
        }
        .await;
        if let Err(e) = stored {
            self.inner.chat.active().remove(&session_id);
            return Err(e);
        }
        let topic = topics::session(&session_id);
        for message in user.into_iter().chain([reply.clone()]) {
            self.bus().publish(
                &topic,
                ev::MESSAGE_CREATED,
                to_value(&MessageEvent { message: message_to_api(message) }),
            );
        }
        let reply_id = reply.id.clone();
        let app = self.clone();
        self.spawn(async move {
            app.stream_reply(session, reply, cancel).await;
        });
        Ok(reply_id)
    }

    /// Stops the reply streaming in a session; what arrived so far is kept as `interrupted`.
    pub async fn stop_reply(&self, session_id: &str) -> CoreResult<bool> {
        self.store().get_session(session_id).await?;
        let active = self.inner.chat.active();
        match active.get(session_id) {
            Some(reply) => {
                reply.cancel.cancel();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The model to use when a session names none: `ATELIER_MODEL` (or the command line), else
    /// the stored setting, else the first model the provider lists.
    pub async fn default_model(&self) -> CoreResult<String> {
        if let Some(model) = &self.inner.config.default_model {
            return Ok(model.clone());
        }
        if let Some(model) = self.setting("default_model").await? {
            return Ok(model);
        }
        let models = self.provider().list_models().await?;
        models.into_iter().next().map(|m| m.name).ok_or_else(|| {
            CoreError::Unavailable(format!(
                "the model server at {} has no models; pull one, e.g. `ollama pull llama3.2`",
                self.provider().endpoint()
            ))
        })
    }

    pub(crate) async fn context_length(&self, model: &str) -> Option<u32> {
        let cached = self.inner.chat.context_lengths.lock().ok().and_then(|c| c.get(model).copied());
        if let Some(known) = cached {
            return known;
        }
        match self.provider().context_length(model).await {
            Ok(length) => {
                if let Ok(mut cache) = self.inner.chat.context_lengths.lock() {
                    cache.insert(model.to_owned(), length);
                }
                length
            }
            Err(e) => {
                tracing::debug!(model, error = %e, "context length unknown");
                None
            }
        }
    }

    /// Whether `model` takes tools natively, asked of its server once and remembered like its
    /// context length; `None` when the server does not say (or cannot be asked).
    /// Forgets the context lengths and tool support learnt from the model server (it changed).
    pub(crate) fn forget_model_facts(&self) {
        self.inner.chat.context_lengths.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.inner.chat.tool_support.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(crate) async fn native_tools(&self, model: &str) -> Option<bool> {
        let cached = self.inner.chat.tool_support.lock().ok().and_then(|c| c.get(model).copied());
        if let Some(known) = cached {
            return known;
        }
        match self.provider().capabilities(model).await {
            Ok(caps) => {
                if let Ok(mut cache) = self.inner.chat.tool_support.lock() {
                    cache.insert(model.to_owned(), caps.tools);
                }
                caps.tools
            }
            Err(e) => {
                tracing::debug!(model, error = %e, "tool support unknown");
                None
            }
        }
    }

    async fn stream_reply(&self, session: SessionRow, reply: MessageRow, cancel: CancellationToken) {
        if session.tools {
            let id = session.id.clone();
            self.run_agent_reply(session, reply, cancel).await;
            self.inner.chat.active().remove(&id);
            return;
        }
        let topic = topics::session(&session.id);
        let outcome = self.run_model(&session, &reply, &topic, &cancel).await;
        self.inner.chat.active().remove(&session.id);
        if let Err(e) = self.finish_reply(&topic, &reply.id, outcome).await {
            tracing::error!(reply = %reply.id, error = %e, "saving the end of a reply");
        }
    }

    async fn run_model(
        &self,
        session: &SessionRow,
        reply: &MessageRow,
        topic: &str,
        cancel: &CancellationToken,
    ) -> (Streamed, Result<(String, Completion), CoreError>) {
        let mut streamed = Streamed::default();
        let model = match &session.model {
            Some(model) => model.clone(),
            None => match self.default_model().await {
                Ok(model) => model,
                Err(e) => return (streamed, Err(e)),
            },
        };
        let history =
            match self.store().list_messages(&session.id, Some(reply.id.clone()), HISTORY_LIMIT).await {
                Ok(rows) => rows,
                Err(e) => return (streamed, Err(e.into())),
            };
        // A chat that had tools before: the calls and results are left out, what the agent
        // said stays.
        let pairs: Vec<(Option<String>, ChatMessage)> = crate::chat_tools::history_with_ids(&history)
            .into_iter()
            .filter(|(_, m)| m.role != atelier_llm::Role::Tool && !m.content.is_empty())
            .map(|(id, m)| (id, ChatMessage::new(m.role, m.content)))
            .collect();
        let mut messages: Vec<ChatMessage> = pairs.iter().map(|(_, m)| m.clone()).collect();
        // The context window sized to this conversation (Ollama otherwise uses its small
        // default and silently drops the start of long chats), within `max_context`; a chat
        // that would pass 80% of it is compacted first, never cut silently.
        let limit = self.context_length(&model).await;
        let window = self.agent_window(&model).await;
        if atelier_tools::context::over(&messages, 0, REPLY_RESERVE_TOKENS, window) {
            match atelier_tools::context::compact(self.provider().as_ref(), &model, &messages, window, cancel)
                .await
            {
                Ok(Some(compacted)) => {
                    // The newest stored message the summary stands for: the one before the kept tail.
                    let until = pairs
                        .len()
                        .checked_sub(compacted.kept + 1)
                        .and_then(|i| pairs[..=i].iter().rev().find_map(|(id, _)| id.clone()));
                    if let Some(until) = until
                        && let Err(e) =
                            self.store_summary(&session.id, &model, &compacted.summary, until).await
                    {
                        return (streamed, Err(e));
                    }
                    messages = compacted.messages;
                    streamed.compacted = true;
                }
                Ok(None) => {}
                Err(e) => return (streamed, Err(e.into())),
            }
            let mut max_chars = (window as usize).saturating_mul(3) / 2;
            while atelier_tools::context::over(&messages, 0, REPLY_RESERVE_TOKENS, window) && max_chars > 500
            {
                atelier_tools::context::cut_long(&mut messages, max_chars);
                streamed.compacted = true;
                max_chars /= 2;
            }
        }
        let num_ctx = atelier_llm::choose_num_ctx(&messages, REPLY_RESERVE_TOKENS, Some(window));
        (streamed.num_ctx, streamed.limit) = (Some(num_ctx), limit.map(|l| l.min(window)));
        let request = ChatRequest {
            model: model.clone(),
            messages,
            format: None,
            num_ctx: Some(num_ctx),
            temperature: None,
            ..ChatRequest::default()
        };
        let mut last_save = Instant::now();
        let store = self.store().clone();
        let bus = self.bus().clone();
        let reply_id = reply.id.clone();
        let result = {
            let streamed = &mut streamed;
            let mut on_delta = |delta: Delta| {
                let (text, reasoning) = match delta {
                    Delta::Content(t) => {
                        streamed.content.push_str(&t);
                        (t, false)
                    }
                    Delta::Reasoning(t) => {
                        streamed.reasoning.push_str(&t);
                        (t, true)
                    }
                };
                let data = MessageDelta { message_id: reply_id.clone(), delta: text, reasoning };
                bus.publish(topic, ev::MESSAGE_DELTA, to_value(&data));
                if last_save.elapsed() >= PERSIST_EVERY {
                    last_save = Instant::now();
                    let (id, content, reasoning) =
                        (reply_id.clone(), streamed.content.clone(), streamed.reasoning.clone());
                    // Queued on the single writer, so it lands before the reply's final save.
                    store.write_detached(move |tx| {
                        atelier_store::update_message_tx(tx, &id, &content, &reasoning, None, None)
                    });
                }
            };
            self.provider().chat(&request, cancel, &mut on_delta).await
        };
        (streamed, result.map(|c| (model, c)).map_err(CoreError::from))
    }

    async fn finish_reply(
        &self,
        topic: &str,
        reply_id: &str,
        (streamed, outcome): (Streamed, Result<(String, Completion), CoreError>),
    ) -> CoreResult<()> {
        use atelier_store::MessageStatus as S;
        match outcome {
            Ok((model, completion)) => {
                let id = reply_id.to_owned();
                let (content, reasoning) = (completion.content.clone(), completion.reasoning.clone());
                let model_for_row = model.clone();
                self.store()
                    .write(move |tx| {
                        atelier_store::update_message_tx(
                            tx,
                            &id,
                            &content,
                            &reasoning,
                            Some(S::Complete),
                            None,
                        )?;
                        atelier_store::set_message_model_tx(tx, &id, &model_for_row)
                    })
                    .await?;
                let usage = &completion.usage;
                self.store()
                    .insert_usage(self.chat_usage(&model, topic.trim_start_matches("session/"), usage))
                    .await?;
                let message = message_to_api(self.store().get_message(reply_id).await?);
                self.bus().publish(topic, ev::MESSAGE_COMPLETED, to_value(&MessageEvent { message }));
                if let Some(limit) = streamed.limit {
                    let used = usage.prompt_tokens + usage.completion_tokens;
                    let data = ContextUsage {
                        used_tokens: used,
                        limit_tokens: limit,
                        num_ctx: streamed.num_ctx,
                        compacted: streamed.compacted,
                    };
                    self.bus().publish(topic, ev::CONTEXT_USAGE, to_value(&data));
                }
            }
            Err(CoreError::Llm(LlmError::Cancelled)) | Err(CoreError::Cancelled) => {
                self.store()
                    .update_message(
                        reply_id,
                        streamed.content,
                        streamed.reasoning,
                        Some(S::Interrupted),
                        None,
                    )
                    .await?;
                let message = message_to_api(self.store().get_message(reply_id).await?);
                self.bus().publish(topic, ev::MESSAGE_COMPLETED, to_value(&MessageEvent { message }));
            }
            Err(e) => self.fail_reply(topic, reply_id, streamed.content, streamed.reasoning, e).await,
        }
        Ok(())
    }

    /// The usage ledger's line for one model call of a chat.
    pub(crate) fn chat_usage(&self, model: &str, session_id: &str, usage: &atelier_llm::Usage) -> UsageRow {
        UsageRow {
            id: new_id("use"),
            provider: self.provider().name().to_owned(),
            model: model.to_owned(),
            session_id: Some(session_id.to_owned()),
            workflow_id: None,
            agent_id: None,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_ms: usage.total_ms,
            load_ms: usage.load_ms,
            prompt_eval_ms: usage.prompt_eval_ms,
            eval_ms: usage.eval_ms,
            created_at: now(),
        }
    }

    /// At start-up: replies that were streaming when the last run ended are kept, marked
    /// `interrupted`, and announced.
    pub(crate) async fn recover_interrupted(&self) -> CoreResult<()> {
        let ids = self.store().interrupt_streaming().await?;
        for id in ids {
            let message = message_to_api(self.store().get_message(&id).await?);
            let topic = topics::session(&message.session_id);
            self.bus().publish(&topic, ev::MESSAGE_COMPLETED, to_value(&MessageEvent { message }));
        }
        Ok(())
    }

    pub(crate) fn active_replies(&self) -> usize {
        self.inner.chat.active_count()
    }
}

/// What streamed before the reply ended, kept when it ends early.
#[derive(Default)]
struct Streamed {
    content: String,
    reasoning: String,
    /// The context window asked for (and the model's), for `context.usage`.
    num_ctx: Option<u32>,
    limit: Option<u32>,
    /// The conversation was compacted for this reply.
    compacted: bool,
}

#[cfg(test)]
mod tests {
    use super::title_from;

    #[test]
    fn titles_come_from_the_first_non_empty_line_and_are_shortened() {
        assert_eq!(title_from("\n  Fix the parser  \nmore"), "Fix the parser");
        let long = "x".repeat(80);
        assert_eq!(title_from(&long).chars().count(), 61);
        assert_eq!(title_from("   "), "New chat");
    }
}
