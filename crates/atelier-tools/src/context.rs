//! Context that never overflows silently. Every request is sized to its prompt plus a reserve
//! for the reply, within the model's window and the memory cap; when a conversation would pass
//! 80% of the window, its middle is replaced by a summary the model writes, keeping the system
//! message, the task and the newest turns. A single message too big for the window is cut with a
//! note saying so. Nothing is ever dropped without the conversation saying what went.

use atelier_llm::{ChatMessage, ChatRequest, Provider, Role};
use tokio_util::sync::CancellationToken;

/// Compaction starts when the prompt and the reply reserve would pass this share of the window.
pub const COMPACT_AT: f64 = 0.8;

/// The window a conversation gets: the model's context length (when known) and the memory
/// cap, whichever is smaller; at least 2,048 tokens.
pub fn window(model_context: Option<u32>, max_context: u32) -> u32 {
    model_context.unwrap_or(max_context).min(max_context).max(2048)
}

/// Tokens a conversation needs, with the tools' descriptions.
pub fn needed(messages: &[ChatMessage], tool_tokens: u32) -> u32 {
    atelier_llm::estimate_tokens(messages).saturating_add(tool_tokens)
}

/// Whether the conversation must be compacted before the next call.
pub fn over(messages: &[ChatMessage], tool_tokens: u32, reserve: u32, window: u32) -> bool {
    f64::from(needed(messages, tool_tokens).saturating_add(reserve)) > f64::from(window) * COMPACT_AT
}

/// The result of a compaction.
#[derive(Debug, Clone)]
pub struct Compacted {
    pub messages: Vec<ChatMessage>,
    /// The summary that replaced the middle (empty when only over-long messages were cut).
    pub summary: String,
    /// How many messages the summary replaced.
    pub replaced: usize,
    /// How many of the newest messages follow the summary unchanged.
    pub kept: usize,
}

/// Which messages stay whole: the leading system messages, the first user message (the task),
/// and as many of the newest messages as fit in `keep_tokens` — never splitting a tool call
/// from its results. Returns (head, middle range, tail start).
fn split(messages: &[ChatMessage], keep_tokens: u32) -> (usize, usize) {
    let mut head = messages.iter().take_while(|m| m.role == Role::System).count();
    if messages.get(head).is_some_and(|m| m.role == Role::User) {
        head += 1;
    }
    let mut tail = messages.len();
    let mut used = 0u32;
    while tail > head {
        let cost = atelier_llm::estimate_tokens(&messages[tail - 1..tail]);
        if used + cost > keep_tokens && tail < messages.len() {
            break;
        }
        used += cost;
        tail -= 1;
    }
    // A tool result must follow its call: start the tail at an assistant or user turn.
    while tail < messages.len() && messages[tail].role == Role::Tool {
        tail += 1;
    }
    (head, tail.max(head))
}

/// How a summary stands in the conversation sent to the model (the same when a stored chat is
/// read back).
pub fn summary_message(summary: &str) -> ChatMessage {
    ChatMessage::user(format!("[A summary of earlier messages, written to save space:]\n{summary}"))
}

/// Cuts each message's text to `max_chars`, with a note, where it is longer.
pub fn cut_long(messages: &mut [ChatMessage], max_chars: usize) -> bool {
    let mut cut = false;
    for message in messages.iter_mut() {
        let chars = message.content.chars().count();
        if chars > max_chars {
            let kept: String = message.content.chars().take(max_chars).collect();
            message.content = format!(
                "{kept}\n[… {} more characters were cut here to fit the model's context window]",
                chars - max_chars
            );
            cut = true;
        }
    }
    cut
}

/// Compacts `messages` to fit `window`: the middle goes into a summary written by `model`
/// (within the same window; its own input cut to fit). Returns `None` when there is no middle
/// to summarise (then over-long messages are cut instead, see [`cut_long`]).
pub async fn compact(
    provider: &dyn Provider,
    model: &str,
    messages: &[ChatMessage],
    window: u32,
    cancel: &CancellationToken,
) -> Result<Option<Compacted>, atelier_llm::LlmError> {
    // Keep about 40% of the window of the newest turns, leaving room for the summary and reply.
    let (head, tail) = split(messages, (f64::from(window) * 0.4) as u32);
    if tail <= head {
        return Ok(None);
    }
    let middle = &messages[head..tail];
    // What the summariser reads: the middle as a transcript, each entry cut so the whole fits.
    let budget_chars = (window as usize * 3 / 2).max(2000);
    let per = (budget_chars / middle.len().max(1)).max(200);
    let mut transcript = String::new();
    for m in middle {
        let who = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool result",
        };
        let mut text: String = m.content.chars().take(per).collect();
        if m.content.chars().count() > per {
            text.push_str(" […]");
        }
        for call in &m.tool_calls {
            text.push_str(&format!("\n(called {} with {})", call.name, call.arguments));
        }
        transcript.push_str(&format!("[{who}] {text}\n"));
    }
    let request = ChatRequest {
        model: model.to_owned(),
        messages: vec![
            ChatMessage::system(
                "You summarise the middle of a working conversation so it can go on in less space. \
                 Keep every fact that matters for the task: files read and what they contain that \
                 matters, what was changed, commands run and their results, decisions, and what is \
                 left to do. Plain text, at most 300 words.",
            ),
            ChatMessage::user(format!("The part to summarise:\n{transcript}")),
        ],
        num_ctx: Some(window),
        ..Default::default()
    };
    let completion = provider.chat(&request, cancel, &mut |_| {}).await?;
    let summary = completion.content.trim().to_owned();
    if summary.is_empty() {
        // Nothing to stand for the middle: better cut long messages than lose it silently.
        return Ok(None);
    }
    let mut out: Vec<ChatMessage> = messages[..head].to_vec();
    out.push(summary_message(&summary));
    out.extend_from_slice(&messages[tail..]);
    Ok(Some(Compacted { messages: out, summary, replaced: middle.len(), kept: messages.len() - tail }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_llm::ToolCall;

    #[test]
    fn the_split_keeps_system_task_and_newest_and_never_orphans_a_result() {
        let mut messages = vec![ChatMessage::system("sys"), ChatMessage::user("the task")];
        for i in 0..10 {
            let call =
                ToolCall { id: format!("c{i}"), name: "read_file".into(), arguments: serde_json::json!({}) };
            messages.push(ChatMessage::assistant_calls("", vec![call]));
            messages.push(ChatMessage::tool_result(format!("c{i}"), "read_file", "x".repeat(300)));
        }
        let (head, tail) = split(&messages, 250);
        assert_eq!(head, 2, "system and task stay");
        assert!(tail > head && tail < messages.len());
        assert_ne!(messages[tail].role, Role::Tool, "the tail starts with a call, not an orphaned result");
    }

    #[test]
    fn windows_respect_the_model_and_the_cap() {
        assert_eq!(window(Some(131_072), 32_768), 32_768);
        assert_eq!(window(Some(8192), 32_768), 8192);
        assert_eq!(window(None, 16_384), 16_384);
    }
}
