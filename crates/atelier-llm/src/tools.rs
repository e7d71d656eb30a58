//! Tools on the wire, whatever the provider: tool names mapped to names every wire accepts and
//! back, a request's messages made ready for native tools or for the text fallback, the system
//! prompt that teaches a model the one text format, and a reply's calls put into the caller's
//! terms (original names, calls written as text read back).

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::{ChatMessage, ChatRequest, Completion, Role, ToolCall, ToolMode, ToolSpec};

/// A new unique call id, for calls the server gave none (Ollama, Gemini, calls written as text).
pub fn new_call_id() -> String {
    format!("call_{}", uuid::Uuid::now_v7().simple())
}

/// The longest name OpenAI, Anthropic and Gemini all accept.
const MAX_WIRE_NAME: usize = 64;

/// `^[A-Za-z_][A-Za-z0-9_-]{0,63}$`: OpenAI's and Anthropic's rule (`[a-zA-Z0-9_-]{1,64}`)
/// with Gemini's (a name starts with a letter or an underscore).
fn valid_wire_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && name.len() <= MAX_WIRE_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// FNV-1a: a short, stable tag that keeps two long or clashing names apart. Not security.
fn short_hash(text: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// Tool names as one request puts them on the wire, and back. Names that are valid everywhere
/// are kept; others (`server.tool`, spaces, over 64 characters) get a valid name that no other
/// tool of the request has. Callers only ever see the original names.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireNames {
    to_wire: HashMap<String, String>,
    to_original: HashMap<String, String>,
}

impl WireNames {
    pub fn new(tools: &[ToolSpec]) -> WireNames {
        let mut names = WireNames::default();
        // Valid names first, so a mapped name never takes one a tool already has.
        for tool in tools.iter().filter(|t| valid_wire_name(&t.name)) {
            names.insert(&tool.name, &tool.name);
        }
        for tool in tools {
            names.wire(&tool.name);
        }
        names
    }

    fn insert(&mut self, original: &str, wire: &str) {
        self.to_wire.insert(original.to_owned(), wire.to_owned());
        self.to_original.insert(wire.to_owned(), original.to_owned());
    }

    /// The wire name of `original`, chosen now if it has none yet (a tool named only in the
    /// history).
    pub fn wire(&mut self, original: &str) -> String {
        if let Some(wire) = self.to_wire.get(original) {
            return wire.clone();
        }
        if valid_wire_name(original) && !self.to_original.contains_key(original) {
            self.insert(original, original);
            return original.to_owned();
        }
        let mut base: String =
            original.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            base.insert_str(0, "t_");
        }
        let tag = short_hash(original);
        let mut candidate = if base.len() > MAX_WIRE_NAME { format!("{}_{tag}", &base[..55]) } else { base };
        let mut n = 2u32;
        while self.to_original.contains_key(&candidate) {
            let keep = candidate.len().min(MAX_WIRE_NAME - 9 - 4);
            let stem: String = candidate.chars().take(keep).collect();
            candidate = if n == 2 { format!("{stem}_{tag}") } else { format!("{stem}_{tag}{n}") };
            n += 1;
        }
        self.insert(original, &candidate);
        candidate
    }

    /// The original name of `wire`; a name the request never offered (a model inventing one)
    /// stays as it is, so the caller can say that tool does not exist.
    pub fn original(&self, wire: &str) -> String {
        self.to_original.get(wire).cloned().unwrap_or_else(|| wire.to_owned())
    }

    /// Pairs `(wire, original)` whose names differ.
    fn renamed(&self) -> impl Iterator<Item = (&String, &String)> {
        self.to_original.iter().filter(|(wire, original)| wire != original)
    }
}

/// A request as a provider puts it on its wire.
pub(crate) struct Prepared {
    /// With wire names when `native`; else calls and results written as text and no tool
    /// fields at all.
    pub messages: Vec<ChatMessage>,
    /// The tools with wire names; empty unless `native`.
    pub tools: Vec<ToolSpec>,
    pub names: WireNames,
    pub native: bool,
}

/// Makes `req` ready for a wire in `mode`. Natively, a call with no result in the history is
/// written as text in its turn and a result whose call is missing becomes a user message:
/// every API refuses unpaired calls and results, and a crash or a compaction can leave them.
/// Without native tools (text mode, or no tools offered), calls and results are written as
/// text, and in text mode the tools are described in the system prompt.
pub(crate) fn prepare(req: &ChatRequest, mode: ToolMode) -> Prepared {
    let native = mode == ToolMode::Native && !req.tools.is_empty();
    if !native {
        let mut messages: Vec<ChatMessage> = req.messages.iter().map(as_text).collect();
        if mode == ToolMode::Text && !req.tools.is_empty() {
            let prompt = tools_system_prompt(&req.tools);
            match messages.iter_mut().find(|m| m.role == Role::System) {
                Some(system) if system.content.trim().is_empty() => system.content = prompt,
                Some(system) => {
                    system.content.push_str("\n\n");
                    system.content.push_str(&prompt);
                }
                None => messages.insert(0, ChatMessage::system(prompt)),
            }
        }
        return Prepared { messages, tools: Vec::new(), names: WireNames::default(), native };
    }
    let mut names = WireNames::new(&req.tools);
    let answered: HashSet<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::Tool)
        .filter_map(|m| m.tool_call_id.as_deref())
        .collect();
    let mut called: HashSet<String> = HashSet::new();
    let mut messages = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        match message.role {
            Role::Assistant if !message.tool_calls.is_empty() => {
                let mut content = message.content.clone();
                let mut calls = Vec::new();
                for call in &message.tool_calls {
                    if answered.contains(call.id.as_str()) {
                        called.insert(call.id.clone());
                        calls.push(ToolCall { name: names.wire(&call.name), ..call.clone() });
                    } else {
                        push_block(&mut content, &call_text(call));
                    }
                }
                messages.push(ChatMessage::assistant_calls(content, calls));
            }
            Role::Tool => match message.tool_call_id.as_deref().filter(|id| called.contains(*id)) {
                Some(id) => {
                    let name = names.wire(message.tool_name.as_deref().unwrap_or_default());
                    messages.push(ChatMessage::tool_result(id, name, message.content.clone()));
                }
                None => messages.push(as_text(message)),
            },
            _ => messages.push(ChatMessage::new(message.role, message.content.clone())),
        }
    }
    let tools = req.tools.iter().map(|t| ToolSpec { name: names.wire(&t.name), ..t.clone() }).collect();
    Prepared { messages, tools, names, native }
}

fn push_block(content: &mut String, block: &str) {
    if !content.trim().is_empty() {
        content.push_str("\n\n");
    }
    content.push_str(block);
}

/// A call in the one text format the tools prompt teaches.
pub(crate) fn call_text(call: &ToolCall) -> String {
    // The name first, as the prompt shows it (a JSON object's keys would come out sorted).
    format!(
        "<tool_call>\n{{\"name\": {}, \"arguments\": {}}}\n</tool_call>",
        json!(call.name),
        call.arguments
    )
}

/// A message with its calls or its result written as text (a result becomes a user message).
fn as_text(message: &ChatMessage) -> ChatMessage {
    match message.role {
        Role::Tool => {
            let name = message.tool_name.as_deref().unwrap_or("tool");
            ChatMessage::user(format!("<tool_result name=\"{name}\">\n{}\n</tool_result>", message.content))
        }
        role => {
            let mut content = message.content.clone();
            for call in &message.tool_calls {
                push_block(&mut content, &call_text(call));
            }
            ChatMessage::new(role, content)
        }
    }
}

/// The system prompt that describes `tools` to a model without native tool calling, in one
/// text format (Hermes/Qwen's `<tool_call>`, the one most small models were trained on).
/// Short and literal, with an example, for 3B models.
pub fn tools_system_prompt(tools: &[ToolSpec]) -> String {
    let mut out = String::from(
        "You can call tools. To call one, write a block exactly like this and nothing after it:\n\
         <tool_call>\n{\"name\": \"TOOL_NAME\", \"arguments\": {\"ARGUMENT\": \"VALUE\"}}\n</tool_call>\n\n\
         Rules:\n\
         - Use only the tools listed below, with their exact names.\n\
         - \"arguments\" is a JSON object with the tool's arguments; use double quotes.\n\
         - To call several tools, write one <tool_call> block for each.\n\
         - After your calls, stop. The results come back in <tool_result> blocks.\n\
         - When you need no tool, answer normally, without <tool_call>.\n",
    );
    if let Some(first) = tools.first() {
        out.push_str("\nExample:\n");
        out.push_str(&call_text(&ToolCall {
            id: String::new(),
            name: first.name.clone(),
            arguments: example_arguments(&first.input_schema),
        }));
        out.push('\n');
    }
    out.push_str("\nTools:\n");
    for tool in tools {
        out.push_str(&format!("\n## {}\n", tool.name));
        if !tool.description.trim().is_empty() {
            out.push_str(tool.description.trim());
            out.push('\n');
        }
        let properties = tool.input_schema["properties"].as_object();
        let required: Vec<&str> = tool.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match properties.filter(|p| !p.is_empty()) {
            None => out.push_str("Arguments: none ({}).\n"),
            Some(properties) => {
                out.push_str("Arguments:\n");
                for (name, schema) in properties {
                    let need = if required.contains(&name.as_str()) { "required" } else { "optional" };
                    out.push_str(&format!("- {name} ({}, {need})", type_label(schema)));
                    if let Some(description) = schema["description"].as_str().filter(|d| !d.trim().is_empty())
                    {
                        out.push_str(": ");
                        out.push_str(description.trim());
                    }
                    if let Some(values) = schema["enum"].as_array() {
                        let values: Vec<String> = values.iter().map(Value::to_string).collect();
                        out.push_str(&format!(" One of: {}.", values.join(", ")));
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// `string`, `integer`, `array of string`, `string or null`…
fn type_label(schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) if t == "array" => match schema["items"]["type"].as_str() {
            Some(item) => format!("array of {item}"),
            None => "array".into(),
        },
        Value::String(t) => t.clone(),
        Value::Array(types) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        _ if schema["enum"].is_array() => "one of the values below".into(),
        _ => "any JSON value".into(),
    }
}

/// Arguments for the prompt's example: each required argument with a placeholder of its type.
fn example_arguments(schema: &Value) -> Value {
    let mut args = serde_json::Map::new();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties.iter().filter(|(n, _)| required.contains(&n.as_str())) {
            let value = match property["type"].as_str() {
                Some("integer") | Some("number") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => match property["enum"].as_array().and_then(|e| e.first()) {
                    Some(first) => first.clone(),
                    None => json!("..."),
                },
            };
            args.insert(name.clone(), value);
        }
    }
    Value::Object(args)
}

/// Arguments a server sent as text (OpenAI's string, Anthropic's `partial_json` pieces, a
/// string where Ollama expects an object): strict JSON first, then repaired (trailing commas,
/// single quotes, a missing brace), and a JSON string holding JSON read once more. `Err` says
/// why when no object comes out.
pub(crate) fn parse_arguments(raw: &str) -> Result<Value, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(json!({}));
    }
    let value = match serde_json::from_str::<Value>(trimmed) {
        Ok(value) => value,
        Err(strict) => repaired(trimmed).ok_or_else(|| format!("the arguments are not JSON ({strict})"))?,
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(json!({})),
        Value::String(inner) if inner.trim_start().starts_with('{') => parse_arguments(&inner),
        other => Err(format!("the arguments are {} instead of a JSON object", kind_of(&other))),
    }
}

/// Text repaired into JSON by `jsonrepair-rs` (a port of the `jsonrepair` library), parsed.
pub(crate) fn repaired(text: &str) -> Option<Value> {
    let fixed = jsonrepair_rs::jsonrepair(text).ok()?;
    serde_json::from_str(&fixed).ok()
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Arguments as a wire that wants an object needs them: an object as it is, text read leniently,
/// anything else (unreadable arguments of an earlier call) as an empty object.
pub(crate) fn arguments_object(arguments: &Value) -> Value {
    match arguments {
        Value::Object(_) => arguments.clone(),
        Value::String(raw) => parse_arguments(raw).unwrap_or_else(|_| json!({})),
        _ => json!({}),
    }
}

/// Arguments as OpenAI's wire wants them: a JSON string (unreadable ones as they came).
pub(crate) fn arguments_string(arguments: &Value) -> String {
    match arguments {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

/// Puts a finished reply into the caller's terms: native calls get their tools' own names; with
/// tools offered and no native call, calls the model wrote as text are read and cut out of the
/// content; a reply with calls ends in `tool_calls` (a `length` end stays: a call may be cut).
pub(crate) fn finish(completion: &mut Completion, req: &ChatRequest, names: &WireNames) {
    for call in &mut completion.tool_calls {
        call.name = names.original(&call.name);
    }
    if !req.tools.is_empty() && completion.tool_calls.is_empty() {
        // A model given wire names may write them in its text too.
        let mut known = req.tools.clone();
        known.extend(names.renamed().filter_map(|(wire, original)| {
            let tool = req.tools.iter().find(|t| &t.name == original)?;
            Some(ToolSpec { name: wire.clone(), ..tool.clone() })
        }));
        let parsed = crate::parse_text_tool_calls(&completion.content, &known);
        if !parsed.calls.is_empty() || !parsed.malformed.is_empty() {
            completion.content = parsed.text;
            completion.tool_calls = parsed
                .calls
                .into_iter()
                .map(|call| ToolCall { name: names.original(&call.name), ..call })
                .collect();
            completion.malformed_calls = parsed.malformed;
        }
    }
    let plain_end =
        matches!(completion.done_reason.as_deref(), None | Some("stop" | "tool_use" | "end_turn"));
    if !completion.tool_calls.is_empty() && plain_end {
        completion.done_reason = Some("tool_calls".into());
    }
}

/// Whether an error answer says the model or server cannot take tools natively (Ollama: "does
/// not support tools"; llama.cpp without `--jinja`; vLLM without `--enable-auto-tool-choice`).
pub(crate) fn refuses_tools(error: &crate::LlmError) -> bool {
    let crate::LlmError::Http { status: 400 | 422 | 500 | 501, body, .. } = error else { return false };
    let body = body.to_ascii_lowercase();
    body.contains("does not support tools")
        || (body.contains("tool") && (body.contains("not support") || body.contains("unsupported")))
        || body.contains("--jinja")
        || body.contains("enable-auto-tool-choice")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ToolSpec {
        ToolSpec { name: name.into(), description: String::new(), input_schema: json!({"type": "object"}) }
    }

    #[test]
    fn wire_names_are_valid_unique_and_map_back() {
        let long = "x".repeat(80);
        let tools: Vec<ToolSpec> =
            ["fs.read_file", "fs_read_file", "read file", "9lives", long.as_str(), &format!("{long}y")]
                .iter()
                .map(|n| spec(n))
                .collect();
        let names = WireNames::new(&tools);
        let mut seen = HashSet::new();
        for tool in &tools {
            let wire = names.to_wire[&tool.name].clone();
            assert!(valid_wire_name(&wire), "{wire}");
            assert!(seen.insert(wire.clone()), "{wire} used twice");
            assert_eq!(names.original(&wire), tool.name);
        }
        // A valid name is kept; the one that would clash with it is moved aside.
        assert_eq!(names.to_wire["fs_read_file"], "fs_read_file");
        assert_ne!(names.to_wire["fs.read_file"], "fs_read_file");
        assert_eq!(names.original("never_offered"), "never_offered");
    }

    #[test]
    fn a_reply_cut_at_its_limit_keeps_saying_so() {
        let req = ChatRequest { tools: vec![spec("read_file")], ..ChatRequest::default() };
        let names = WireNames::new(&req.tools);
        let mut completion = Completion {
            content: "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a".into(),
            done_reason: Some("length".into()),
            ..Completion::default()
        };
        finish(&mut completion, &req, &names);
        // The call was read, but the caller learns the reply hit its limit.
        assert_eq!(completion.tool_calls.len(), 1);
        assert_eq!(completion.done_reason.as_deref(), Some("length"));
    }

    #[test]
    fn text_mode_describes_tools_in_the_first_system_message() {
        let req = ChatRequest {
            messages: vec![ChatMessage::system("Be brief."), ChatMessage::user("hi")],
            tools: vec![spec("read_file")],
            tool_mode: ToolMode::Text,
            ..ChatRequest::default()
        };
        let prepared = prepare(&req, ToolMode::Text);
        assert!(!prepared.native && prepared.tools.is_empty());
        assert!(prepared.messages[0].content.starts_with("Be brief.\n\nYou can call tools."));
        assert_eq!(prepared.messages.len(), 2);
    }

    #[test]
    fn arguments_are_read_leniently() {
        assert_eq!(parse_arguments("").expect("empty"), json!({}));
        assert_eq!(parse_arguments("{'path': 'a.rs',}").expect("repaired"), json!({"path": "a.rs"}));
        assert_eq!(parse_arguments("{\"path\": \"a.rs\"").expect("closed"), json!({"path": "a.rs"}));
        assert_eq!(parse_arguments("\"{\\\"n\\\": 1}\"").expect("string"), json!({"n": 1}));
        assert!(parse_arguments("[1, 2]").is_err());
        assert!(parse_arguments("hello there").is_err());
    }
}
