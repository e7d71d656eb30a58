//! The chat agents a session can be opened with: each has a system message and seed messages
//! that are stored (and shown) before the person types anything.

use atelier_protocol::Role;

/// A chat agent's definition. Seed messages are fixed text from this definition, not model
/// output; they are stored with the session so the conversation the model sees is the one the
/// person sees.
#[derive(Debug, Clone)]
pub struct ChatAgent {
    pub id: &'static str,
    pub name: &'static str,
    pub system: &'static str,
    pub seeds: &'static [(Role, &'static str)],
}

const ASSISTANT: ChatAgent = ChatAgent {
    id: "assistant",
    name: "Assistant",
    system: "You are Atelier's coding assistant, running on the user's own machine. Answer \
             questions about software, explain code, and write code when asked. Be concise. Put \
             code in fenced blocks with a language tag. When you are unsure, say so instead of \
             guessing.",
    seeds: &[(
        Role::Assistant,
        "Hello! I'm the Atelier assistant. Ask me about your code, or describe something to \
         build. Replies come from your configured model.",
    )],
};

const REVIEWER: ChatAgent = ChatAgent {
    id: "reviewer",
    name: "Code reviewer",
    system: "You are a careful code reviewer. For code the user pastes, list concrete problems \
             first (bugs, security, error handling), then smaller suggestions. Quote the lines \
             you mean. Do not rewrite the whole file unless asked.",
    seeds: &[(
        Role::Assistant,
        "Paste a diff or a file and I'll review it: bugs and risks first, then smaller \
         suggestions.",
    )],
};

/// Every chat agent, the default (`assistant`) first.
pub fn chat_agents() -> &'static [ChatAgent] {
    const AGENTS: &[ChatAgent] = &[ASSISTANT, REVIEWER];
    AGENTS
}

pub(crate) fn find(id: &str) -> Option<&'static ChatAgent> {
    chat_agents().iter().find(|a| a.id == id)
}
