//! Pulling values out of real models' replies: reasoning blocks removed, JSON found in fences
//! or prose, code taken from fenced blocks with or without a language.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExtractError(pub String);

/// Removes the model's reasoning: a `<think>…</think>` block at the start of the reply (all of
/// it when never closed), or text before a lone `</think>` that comes before any code fence.
/// Tags later in the reply, e.g. inside code, are content and stay.
pub fn strip_reasoning(text: &str) -> String {
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<think>") {
        return match rest.find("</think>") {
            Some(end) => rest[end + "</think>".len()..].trim().to_owned(),
            None => String::new(),
        };
    }
    if let Some(end) = trimmed.find("</think>") {
        let fence = trimmed.find("```").unwrap_or(usize::MAX);
        if end < fence {
            return trimmed[end + "</think>".len()..].trim().to_owned();
        }
    }
    text.trim().to_owned()
}

/// Fenced blocks as `(info string, body)`.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let fence = if trimmed.starts_with("```") {
            "```"
        } else if trimmed.starts_with("~~~") {
            "~~~"
        } else {
            continue;
        };
        let info = trimmed[fence.len()..].trim().to_owned();
        let mut body = Vec::new();
        // An unclosed fence (a reply cut off) still yields what it holds.
        for inner in lines.by_ref() {
            if inner.trim() == fence {
                break;
            }
            body.push(inner);
        }
        blocks.push((info, body.join("\n")));
    }
    blocks
}

/// Follows a JSON text character by character to tell string contents from structure.
#[derive(Default)]
struct JsonStrings {
    inside: bool,
    escaped: bool,
}

impl JsonStrings {
    /// Feeds one character; `true` when it is structure (outside a string and not a quote).
    fn structural(&mut self, c: char) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if c == '"' {
                self.inside = false;
            }
            return false;
        }
        if c == '"' {
            self.inside = true;
            return false;
        }
        true
    }
}

/// Removes commas before `}` or `]` outside strings (a common slip of small models).
fn drop_trailing_commas(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let chars: Vec<char> = json.chars().collect();
    let mut strings = JsonStrings::default();
    for (i, &c) in chars.iter().enumerate() {
        if strings.structural(c) && c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The balanced `{…}` starting at `start`, string-aware; `None` when it never closes.
fn balanced_object(text: &str, start: usize) -> Option<&str> {
    let mut depth = 0usize;
    let mut strings = JsonStrings::default();
    for (i, c) in text[start..].char_indices() {
        if !strings.structural(c) {
            continue;
        }
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_lenient(candidate: &str) -> Option<Value> {
    serde_json::from_str(candidate)
        .ok()
        .or_else(|| serde_json::from_str(&drop_trailing_commas(candidate)).ok())
}

/// The JSON object in a reply: fenced blocks first, then the first balanced object that parses.
pub fn extract_json(text: &str) -> Result<Value, ExtractError> {
    let text = strip_reasoning(text);
    for (_, body) in fenced_blocks(&text) {
        if let Some(v) = parse_lenient(body.trim()).filter(Value::is_object) {
            return Ok(v);
        }
    }
    let mut cut_off = false;
    for (start, _) in text.match_indices('{') {
        match balanced_object(&text, start) {
            Some(candidate) => {
                if let Some(v) = parse_lenient(candidate) {
                    return Ok(v);
                }
            }
            None => cut_off = true,
        }
    }
    Err(ExtractError(if cut_off {
        "the JSON object in the reply is cut off".into()
    } else {
        "there is no JSON object in the reply".into()
    }))
}

/// A file's content from a coder's reply: the fenced block (the one naming `path` when there are
/// several, else the longest), or the whole reply when it has no fence. Ends with one newline.
pub fn extract_code(text: &str, path: &str) -> Result<String, ExtractError> {
    let text = strip_reasoning(text);
    let blocks = fenced_blocks(&text);
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let body = if blocks.is_empty() {
        text.clone()
    } else {
        let named = blocks
            .iter()
            .find(|(info, _)| info.contains(path) || (!file_name.is_empty() && info.contains(file_name)));
        match named {
            Some((_, body)) => body.clone(),
            None => {
                blocks.iter().max_by_key(|(_, body)| body.len()).map(|(_, b)| b.clone()).unwrap_or_default()
            }
        }
    };
    let trimmed = body.trim_end();
    let trimmed = trimmed.trim_start_matches(['\n', '\r']);
    if trimmed.trim().is_empty() {
        return Err(ExtractError(format!("the reply has no content for `{path}`")));
    }
    Ok(format!("{trimmed}\n"))
}
