//! A tool call's result as an agent gets it: the text content for the model, images and
//! resources named (a small model can do nothing with base64), `isError` kept, and a huge
//! result cut with a note saying so.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// What a tool call gave back.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// Text for the model: the text blocks in order, each image, audio clip and resource named
    /// on a line of its own (`[image: image/png, 1,234 bytes]`), the structured content as JSON
    /// when there is no text, and a note at the end when it was cut.
    pub text: String,
    /// The server flagged the result as an error (`isError`): the agent reports it as a tool
    /// error.
    pub is_error: bool,
    /// One line per image or audio clip: its type and size.
    pub media: Vec<String>,
    /// The URIs of embedded resources and resource links.
    pub resources: Vec<String>,
    /// Whether `text` was cut to the limit.
    pub truncated: bool,
}

/// Characters of text a result keeps by default: room for a file or a page of output in a
/// small model's context, and a bound on what one call can put there.
pub const MAX_RESULT_CHARS: usize = 32_000;

/// Bytes a base64 payload of `len` characters decodes to, about.
fn decoded_len(base64: &str) -> usize {
    base64.len() / 4 * 3
}

pub fn convert(result: CallToolResult, max_chars: usize) -> ToolResult {
    let mut parts: Vec<String> = Vec::new();
    let mut media = Vec::new();
    let mut resources = Vec::new();
    let mut has_text = false;
    for block in result.content {
        match block {
            ContentBlock::Text(t) => {
                has_text = true;
                parts.push(t.text);
            }
            ContentBlock::Image(i) => {
                let line = format!("[image: {}, {} bytes]", i.mime_type, group(decoded_len(&i.data)));
                media.push(line.clone());
                parts.push(line);
            }
            ContentBlock::Audio(a) => {
                let line = format!("[audio: {}, {} bytes]", a.mime_type, group(decoded_len(&a.data)));
                media.push(line.clone());
                parts.push(line);
            }
            ContentBlock::Resource(r) => match r.resource {
                ResourceContents::TextResourceContents { uri, text, .. } => {
                    has_text = true;
                    parts.push(format!("[resource: {uri}]\n{text}"));
                    resources.push(uri);
                }
                ResourceContents::BlobResourceContents { uri, mime_type, blob, .. } => {
                    parts.push(format!(
                        "[resource: {uri} ({}, {} bytes)]",
                        mime_type.as_deref().unwrap_or("binary"),
                        group(decoded_len(&blob))
                    ));
                    resources.push(uri);
                }
                _ => parts.push("[resource of a kind Atelier does not know]".into()),
            },
            ContentBlock::ResourceLink(link) => {
                let described = link.description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
                parts.push(format!("[resource link: {} ({}){described}]", link.uri, link.name));
                resources.push(link.uri);
            }
            _ => parts.push("[content of a kind Atelier does not know]".into()),
        }
    }
    if !has_text
        && let Some(structured) = &result.structured_content
        && !structured.is_null()
    {
        parts.push(structured.to_string());
    }
    let (text, truncated) = truncate(parts.join("\n"), max_chars);
    ToolResult { text, is_error: result.is_error.unwrap_or(false), media, resources, truncated }
}

/// Cuts `text` to `max` characters (on a character boundary) with a note of how much was left.
pub fn truncate(text: String, max: usize) -> (String, bool) {
    let total = text.chars().count();
    if total <= max {
        return (text, false);
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push_str(&format!(
        "\n[… truncated: the result had {} characters; the first {} are shown. Ask for less (a \
         narrower query, a smaller range) to see the rest.]",
        group(total),
        group(max)
    ));
    (cut, true)
}

/// `1234567` → `1,234,567`.
fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_text_is_cut_with_a_note() {
        let (text, cut) = truncate("é".repeat(50_000), 1000);
        assert!(cut);
        assert!(text.starts_with(&"é".repeat(1000)));
        assert!(text.contains("the result had 50,000 characters; the first 1,000 are shown"), "{text}");
        let (text, cut) = truncate("short".into(), 1000);
        assert_eq!((text.as_str(), cut), ("short", false));
    }
}
