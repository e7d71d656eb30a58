//! Tool calls that models write as text, read back leniently: Hermes/Qwen `<tool_call>` JSON,
//! Qwen3-Coder's `<function=…><parameter=…>` XML, Llama 3.x `<|python_tag|>` (JSON or
//! `name(k=v)` calls) and bare `{"name": …, "parameters": …}` objects, Mistral's
//! `[TOOL_CALLS]`, Granite's `<|tool_call|>`, DeepSeek's `<｜tool▁calls▁begin｜>` blocks and JSON
//! in fenced blocks; arguments as an object or a JSON string, repaired when broken.
//!
//! Two kinds of text are told apart. A block in a tool-call wrapper (the tags and markers above)
//! is a call whatever it holds: an unknown tool or unreadable arguments there is reported as
//! malformed, so the model can be told. JSON without a wrapper (bare or fenced) counts only
//! when it names a known tool and has the shape of a call; anything else is prose and stays.

use serde_json::{Map, Value, json};

use crate::tools::{kind_of, new_call_id, parse_arguments, repaired};
use crate::{ToolCall, ToolSpec};

/// What [`parse_text_tool_calls`] found in a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextCalls {
    /// The calls, in the order they were written, with generated ids.
    pub calls: Vec<ToolCall>,
    /// The reply with the calls (and the malformed blocks) cut out.
    pub text: String,
    /// What looked like a call but could not be read, each saying why and quoting the start of
    /// the block.
    pub malformed: Vec<String>,
}

/// Reads the tool calls a model wrote as text in `text`, for the tools in `tools`. Never
/// panics, whatever the input.
pub fn parse_text_tool_calls(text: &str, tools: &[ToolSpec]) -> TextCalls {
    let mut scan = Scan { text, tools, blocks: Vec::new(), taken: protected(text) };
    scan.deepseek();
    scan.markers("[TOOL_CALLS]");
    scan.markers("<|tool_call|>");
    scan.tagged();
    scan.functions();
    scan.python_tag();
    scan.fences();
    scan.bare_json();
    scan.finish()
}

/// One piece of text to cut, and what it held.
struct Block {
    start: usize,
    end: usize,
    items: Vec<Item>,
}

/// A call read from a block (`Ok(name, arguments)`), or why one could not be.
type Item = Result<(String, Value), String>;

/// A call's name as written, and its arguments or why they could not be read.
type RawCall = (String, Result<Value, String>);

struct Scan<'a> {
    text: &'a str,
    tools: &'a [ToolSpec],
    blocks: Vec<Block>,
    /// Byte ranges already read (or `<think>` blocks, which hold no calls).
    taken: Vec<(usize, usize)>,
}

/// `<think>…</think>` blocks (to the end when never closed): a model thinking about a call has
/// not made it.
fn protected(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("<think>") {
        let start = from + at;
        let end = match text[start..].find("</think>") {
            Some(close) => start + close + "</think>".len(),
            None => text.len(),
        };
        ranges.push((start, end));
        from = end;
    }
    ranges
}

impl Scan<'_> {
    fn is_taken(&self, at: usize) -> bool {
        self.taken.iter().any(|&(start, end)| at >= start && at < end)
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.taken.iter().any(|&(s, e)| start < e && s < end)
    }

    fn add(&mut self, start: usize, end: usize, items: Vec<Item>) {
        self.taken.push((start, end));
        self.blocks.push(Block { start, end, items });
    }

    /// Every place `needle` occurs outside what was read already.
    fn occurrences(&self, needle: &str) -> Vec<usize> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = self.text.get(from..).and_then(|rest| rest.find(needle)) {
            let at = from + at;
            if !self.is_taken(at) {
                found.push(at);
            }
            from = at + needle.len();
        }
        found
    }

    /// DeepSeek's blocks: `<｜tool▁calls▁begin｜>` then per call `<｜tool▁call▁begin｜>` `function`
    /// `<｜tool▁sep｜>` NAME, a ```json fence, `<｜tool▁call▁end｜>` (R1/V3), or NAME
    /// `<｜tool▁sep｜>` JSON (V3.1), then `<｜tool▁calls▁end｜>`. ASCII `|` and `_` are accepted
    /// for the full-width bar and the `▁`.
    fn deepseek(&mut self) {
        let calls_begin = marker_variants("tool calls begin");
        let calls_end = marker_variants("tool calls end");
        let call_begin = marker_variants("tool call begin");
        let call_end = marker_variants("tool call end");
        let sep = marker_variants("tool sep");
        loop {
            let text = self.text;
            // The next block: an outer begin, or failing that a lone call begin.
            let outer = first_of(text, &calls_begin, 0, |at| !self.is_taken(at));
            let inner = first_of(text, &call_begin, 0, |at| !self.is_taken(at));
            // Whichever comes first; a lone call begin before an outer block is its own block.
            let outer = match (outer, inner) {
                (Some(o), Some(i)) if i.0 < o.0 => None,
                (o, _) => o,
            };
            let Some((start, first_len)) = outer.or(inner) else { return };
            let body_start = start + first_len;
            // A lone call ends before the next outer block, if any.
            let limit = match outer {
                Some(_) => text.len(),
                None => first_of(text, &calls_begin, body_start, |_| true).map_or(text.len(), |(at, _)| at),
            };
            let (body_end, end) = match first_of(&text[..limit], &calls_end, body_start, |_| true) {
                Some((at, len)) => (at, at + len),
                None => match last_of(&text[..limit], &call_end, body_start) {
                    Some((at, len)) if outer.is_none() => (at + len, at + len),
                    _ => (limit, limit),
                },
            };
            let body = &text[body_start..body_end.max(body_start)];
            let mut items = Vec::new();
            // Each call runs from a call begin to its call end (or the next begin).
            let mut pieces: Vec<&str> = Vec::new();
            let mut rest = body;
            if outer.is_some() {
                match first_of(rest, &call_begin, 0, |_| true) {
                    Some((at, len)) => rest = &rest[at + len..],
                    None => rest = "",
                }
            }
            while !rest.trim().is_empty() {
                let next = first_of(rest, &call_begin, 0, |_| true);
                let (piece, after) = match next {
                    Some((at, len)) => (&rest[..at], &rest[at + len..]),
                    None => (rest, ""),
                };
                pieces.push(piece);
                rest = after;
            }
            for piece in pieces {
                let piece = match first_of(piece, &call_end, 0, |_| true) {
                    Some((at, _)) => &piece[..at],
                    None => piece,
                };
                items.push(self.deepseek_call(piece, &sep));
            }
            if items.is_empty() {
                items.push(Err("a DeepSeek tool-call block without a call".into()));
            }
            self.add(start, end, items);
        }
    }

    fn deepseek_call(&self, piece: &str, sep: &[String]) -> Item {
        let Some((at, len)) = first_of(piece, sep, 0, |_| true) else {
            return Err(format!("a DeepSeek tool call without <｜tool▁sep｜>: {}", snippet(piece)));
        };
        let (left, right) = (piece[..at].trim(), &piece[at + len..]);
        // R1/V3: the left side is the call's type and the name starts the right side; V3.1:
        // the left side is the name.
        let (name, arguments) = if left == "function" || left.is_empty() {
            let right = right.trim_start();
            let cut = right.find(['\n', '`', '{']).unwrap_or(right.len());
            (right[..cut].trim(), &right[cut..])
        } else {
            (left, right)
        };
        let arguments = strip_fence(arguments.trim());
        let arguments = if arguments.is_empty() { Ok(json!({})) } else { parse_arguments(arguments) };
        self.explicit(name, arguments.map_err(|why| format!("{why}: {}", snippet(piece))))
    }

    /// Mistral's `[TOOL_CALLS][{…}, …]` and `[TOOL_CALLS]name[ARGS]{…}` (with an optional
    /// `[CALL_ID]id`), and Granite's `<|tool_call|>[{…}]`.
    fn markers(&mut self, marker: &str) {
        for at in self.occurrences(marker) {
            if self.is_taken(at) {
                continue;
            }
            let text = self.text;
            let after = at + marker.len();
            let rest = &text[after..];
            let lead = rest.len() - rest.trim_start().len();
            let body_start = after + lead;
            let (end, items) = if rest.trim_start().starts_with(['[', '{']) {
                let end = balanced_end(text, body_start).unwrap_or(text.len());
                let items = match lenient_value(&text[body_start..end]) {
                    Some(value) => self.explicit_value(&value),
                    None => vec![Err(format!("JSON that cannot be read: {}", snippet(&text[at..end])))],
                };
                (end, items)
            } else {
                // name[ARGS]{…}: the name runs to `[` or `{`.
                let name_end = rest.find(['[', '{', '\n']).map_or(text.len(), |i| after + i);
                let name = text[after..name_end].trim();
                let mut cursor = name_end;
                for tag in ["[CALL_ID]", "[ARGS]"] {
                    if let Some(tail) = text[cursor..].strip_prefix(tag) {
                        cursor += tag.len();
                        if tag == "[CALL_ID]" {
                            cursor += tail.find(['[', '{']).unwrap_or(tail.len());
                        }
                    }
                }
                let lead = text[cursor..].len() - text[cursor..].trim_start().len();
                cursor += lead;
                if text[cursor..].starts_with('{') {
                    let (end, arguments) = object_at(text, cursor);
                    (end, vec![self.explicit(name, arguments)])
                } else {
                    (cursor, vec![self.explicit(name, Err(format!("no arguments after `{marker}{name}`")))])
                }
            };
            // `[TOOL_CALLS]a[ARGS]{…}[TOOL_CALLS]b[ARGS]{…}`: each marker is its own block.
            if !self.overlaps(at, end) {
                self.add(at, end, items);
            }
        }
    }

    /// `<tool_call>…</tool_call>` (the closing tag may be missing): JSON, several JSON objects,
    /// or Qwen3-Coder's `<function=…>` inside.
    fn tagged(&mut self) {
        let lower = self.text.to_ascii_lowercase();
        let open = "<tool_call>";
        let close = "</tool_call>";
        let mut from = 0;
        while let Some(found) = lower.get(from..).and_then(|rest| rest.find(open)) {
            let start = from + found;
            let body_start = start + open.len();
            let next_open = lower[body_start..].find(open).map(|i| body_start + i);
            let closed = lower[body_start..].find(close).map(|i| body_start + i);
            let (body_end, mut end) = match closed {
                Some(at) if next_open.is_none_or(|n| at < n) => (at, at + close.len()),
                _ => {
                    let stop = next_open.unwrap_or(self.text.len());
                    (stop, stop)
                }
            };
            let body = &self.text[body_start..body_end];
            let items = if body.contains("<function=") {
                self.function_blocks(body_start, body).into_iter().map(|(_, _, item)| item).collect()
            } else {
                let (items, json_end) = self.json_items(body, "<tool_call>");
                // Without its closing tag the block ends with its JSON; prose after it stays.
                if end == body_end && !items.is_empty() {
                    end = body_start + json_end;
                }
                items
            };
            from = end.max(body_start);
            if self.overlaps(start, end) {
                continue;
            }
            self.add(start, end, items);
        }
    }

    /// Qwen3-Coder's `<function=NAME>` without the `<tool_call>` around it, and Llama 3.1's
    /// `<function=NAME>{…}</function>`.
    fn functions(&mut self) {
        let blocks = self.function_blocks(0, self.text);
        for (start, end, item) in blocks {
            if !self.overlaps(start, end) {
                self.add(start, end, vec![item]);
            }
        }
    }

    /// Every `<function=NAME>…</function>` in `body`, which starts at `base` in the text.
    fn function_blocks(&self, base: usize, body: &str) -> Vec<(usize, usize, Item)> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = body.get(from..).and_then(|rest| rest.find("<function=")) {
            let start = from + found;
            if self.is_taken(base + start) {
                from = start + 1;
                continue;
            }
            let name_start = start + "<function=".len();
            let Some(name_len) = body[name_start..].find('>') else {
                let why = format!("an unfinished <function=…> tag: {}", snippet(&body[start..]));
                out.push((base + start, base + body.len(), Err(why)));
                break;
            };
            let name = body[name_start..name_start + name_len].trim().trim_matches(['"', '\'']);
            let inner_start = name_start + name_len + 1;
            let next = body[inner_start..].find("<function=").map(|i| inner_start + i);
            let (inner_end, end) = match body[inner_start..].find("</function>").map(|i| inner_start + i) {
                Some(at) if next.is_none_or(|n| at < n) => (at, at + "</function>".len()),
                _ => {
                    let stop = next.unwrap_or(body.len());
                    (stop, stop)
                }
            };
            let inner = &body[inner_start..inner_end];
            let item = if inner.contains("<parameter=") {
                match self.resolve(name) {
                    Ok(tool) => Ok((tool.name.clone(), parameters(inner, tool))),
                    Err(why) => Err(format!("{why}: {}", snippet(&body[start..end]))),
                }
            } else {
                let inner = strip_fence(inner.trim());
                let arguments = if inner.is_empty() { Ok(json!({})) } else { parse_arguments(inner) };
                self.explicit(name, arguments.map_err(|why| format!("{why}: {}", snippet(&body[start..end]))))
            };
            out.push((base + start, base + end, item));
            from = inner_end.max(inner_start);
        }
        out
    }

    /// Llama 3.x `<|python_tag|>` followed by JSON calls (separated by `;` or lines) or
    /// `name.call(k=v)` / `name(k=v)` calls, up to `<|eom_id|>`, `<|eot_id|>` or the end.
    fn python_tag(&mut self) {
        let marker = "<|python_tag|>";
        for at in self.occurrences(marker) {
            let text = self.text;
            let body_start = at + marker.len();
            let rest = &text[body_start..];
            let terminator = ["<|eom_id|>", "<|eot_id|>"]
                .iter()
                .filter_map(|stop| rest.find(stop).map(|i| (body_start + i, body_start + i + stop.len())))
                .min();
            let (body_end, mut end) = terminator.unwrap_or((text.len(), text.len()));
            let body = &text[body_start..body_end];
            let lead = body.len() - body.trim_start().len();
            let (items, used) = if body.trim_start().starts_with(['{', '[']) {
                self.json_items(body, "<|python_tag|>")
            } else {
                match pythonic_calls(body) {
                    Some((calls, used)) => {
                        (calls.into_iter().map(|(name, args)| self.explicit(&name, args)).collect(), used)
                    }
                    None => {
                        (vec![Err(format!("<|python_tag|> without a call: {}", snippet(body)))], body.len())
                    }
                }
            };
            // Without an end-of-message marker the block ends with its calls.
            if terminator.is_none() {
                end = body_start + used.max(lead);
            }
            if self.overlaps(at, end) {
                continue;
            }
            self.add(at, end, items);
        }
    }

    /// Fenced blocks (```json, ```tool_call, or no language) that hold nothing but calls of
    /// known tools; the whole fence is cut.
    fn fences(&mut self) {
        let text = self.text;
        let mut from = 0;
        while let Some(found) = text.get(from..).and_then(|rest| rest.find("```")) {
            let start = from + found;
            // A fence opens a line (as in Markdown); ``` inside a sentence is not one.
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            if !text[line_start..start].trim().is_empty() {
                from = start + 3;
                continue;
            }
            let info_end = text[start + 3..].find('\n').map_or(text.len(), |i| start + 3 + i);
            let info = text[start + 3..info_end].trim().to_ascii_lowercase();
            let body_start = (info_end + 1).min(text.len());
            let (body_end, end) = match text[body_start..].find("```") {
                Some(i) => (body_start + i, body_start + i + 3),
                None => (text.len(), text.len()),
            };
            from = end.max(start + 3);
            let callable = matches!(
                info.as_str(),
                "" | "json" | "jsonc" | "json5" | "tool_call" | "tool_calls" | "tool_code" | "function_call"
            );
            if self.overlaps(start, end) {
                continue;
            }
            if !callable {
                // Code is code: JSON in a ```python block is not a call.
                self.taken.push((start, end));
                continue;
            }
            let body = &text[body_start..body_end];
            if !body.trim_start().starts_with(['{', '[']) {
                continue;
            }
            let (run_end, values) = json_run(body, body.len() - body.trim_start().len());
            if !body[run_end..].trim().is_empty() {
                continue; // More than JSON in the fence: an example, not a call.
            }
            let Some(items) = self.implicit_values(&values) else { continue };
            self.add(start, end, items);
        }
    }

    /// Bare JSON objects (or arrays of them) naming a known tool, anywhere in the prose.
    fn bare_json(&mut self) {
        let text = self.text;
        let mut from = 0;
        while let Some(found) = text.get(from..).and_then(|rest| rest.find(['{', '['])) {
            let start = from + found;
            from = start + 1;
            if self.is_taken(start) || !keyed_opening(text, start) {
                continue;
            }
            // A value that never closes runs to the end of the reply (a missing brace); with
            // prose after it, to the next blank line or line end instead.
            let closed = balanced_end(text, start);
            let mut candidates = Vec::new();
            match closed {
                Some(end) => candidates.push(end),
                None => {
                    candidates.push(text.len());
                    if let Some(i) = text[start..].find("\n\n") {
                        candidates.push(start + i);
                    }
                    if let Some(i) = text[start..].find('\n') {
                        candidates.push(start + i);
                    }
                }
            }
            for end in candidates {
                let Some(value) = lenient_value(&text[start..end]) else { continue };
                let values = vec![Ok(value)];
                if let Some(items) = self.implicit_values(&values) {
                    if !self.overlaps(start, end) {
                        self.add(start, end, items);
                        from = end;
                    }
                    break;
                }
            }
        }
    }

    /// The calls in JSON that is not in a wrapper: `Some` only when every value is a call
    /// (an object with a name and arguments, or a list of such) and one of them names a
    /// known tool.
    fn implicit_values(&self, values: &[Result<Value, String>]) -> Option<Vec<Item>> {
        let mut shapes = Vec::new();
        for value in values {
            let value = value.as_ref().ok()?;
            let found = call_shapes(value, true)?;
            shapes.extend(found);
        }
        if shapes.is_empty() || !shapes.iter().any(|(name, _)| self.resolve(name).is_ok()) {
            return None;
        }
        Some(shapes.into_iter().map(|(name, arguments)| self.explicit(&name, arguments)).collect())
    }

    /// The calls in a JSON value inside a wrapper; what is not a call is reported.
    fn explicit_value(&self, value: &Value) -> Vec<Item> {
        match call_shapes(value, false) {
            Some(shapes) if !shapes.is_empty() => {
                shapes.into_iter().map(|(name, arguments)| self.explicit(&name, arguments)).collect()
            }
            _ => vec![Err(format!("a tool-call block without a tool name: {}", snippet(&value.to_string())))],
        }
    }

    /// The JSON values of a wrapper's body (a fence around them allowed), and where in `body`
    /// they end.
    fn json_items(&self, body: &str, wrapper: &str) -> (Vec<Item>, usize) {
        let inner = strip_fence(body.trim());
        let Some(first) = inner.find(['{', '[']) else {
            return (vec![Err(format!("{wrapper} without JSON: {}", snippet(inner)))], body.len());
        };
        let (end, values) = json_run(inner, first);
        let mut items = Vec::new();
        for value in values {
            match value {
                Ok(value) => items.extend(self.explicit_value(&value)),
                Err(why) => items.push(Err(format!("{wrapper} with {why}: {}", snippet(inner)))),
            }
        }
        // `inner` lies within `body`; a fence's closing line is part of the block.
        let used = match body.find(inner) {
            Some(offset) if inner.len() == body.trim().len() => offset + end,
            _ => body.len(),
        };
        (items, used)
    }

    /// A call of `name` with `arguments` (already read, or why not), checked against the
    /// known tools.
    fn explicit(&self, name: &str, arguments: Result<Value, String>) -> Item {
        let tool = self.resolve(name)?;
        let arguments = arguments.map_err(|why| format!("arguments of `{}`: {why}", tool.name))?;
        Ok((tool.name.clone(), arguments))
    }

    /// The known tool `name` means: exactly, without a `functions.`-style prefix, or alike once
    /// case and separators are ignored (`Read-File` for `read_file`) when only one tool is.
    fn resolve(&self, name: &str) -> Result<&ToolSpec, String> {
        let name = name.trim().trim_matches(['"', '\'', '`']);
        if name.is_empty() {
            return Err("a tool call without a tool name".into());
        }
        if let Some(tool) = self.tools.iter().find(|t| t.name == name) {
            return Ok(tool);
        }
        let bare = ["functions.", "function.", "default_api.", "tools.", "tool."]
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(name);
        if let Some(tool) = self.tools.iter().find(|t| t.name == bare) {
            return Ok(tool);
        }
        let wanted = normalise(bare);
        let mut alike = self.tools.iter().filter(|t| normalise(&t.name) == wanted);
        match (alike.next(), alike.next()) {
            (Some(tool), None) => Ok(tool),
            (Some(_), Some(_)) => Err(format!("`{name}` could mean more than one tool")),
            _ => {
                let known: Vec<&str> = self.tools.iter().take(20).map(|t| t.name.as_str()).collect();
                Err(format!("unknown tool `{}` (the tools are: {})", snippet(name), known.join(", ")))
            }
        }
    }

    fn finish(mut self) -> TextCalls {
        self.blocks.sort_by_key(|b| b.start);
        let mut out = TextCalls::default();
        let mut text = String::with_capacity(self.text.len());
        let mut cursor = 0;
        for block in &mut self.blocks {
            // Passes never read a piece twice; should two blocks overlap all the same, the
            // first is kept so no call is counted twice.
            if block.start < cursor {
                continue;
            }
            text.push_str(self.text.get(cursor..block.start).unwrap_or_default());
            cursor = block.end.max(cursor);
            for item in block.items.drain(..) {
                match item {
                    Ok((name, arguments)) => out.calls.push(ToolCall { id: new_call_id(), name, arguments }),
                    Err(why) => out.malformed.push(why),
                }
            }
        }
        text.push_str(self.text.get(cursor..).unwrap_or_default());
        out.text = if self.blocks.is_empty() { self.text.to_owned() } else { tidy(&text) };
        out
    }
}

/// Lower case, separators alike: `Read-File`, `read file` and `read_file` are one name.
fn normalise(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// Text where blocks were cut: no runs of blank lines, no stray end-of-turn markers.
fn tidy(text: &str) -> String {
    let mut text = text.to_owned();
    for stray in ["<|eom_id|>", "<|eot_id|>", "</s>"] {
        text = text.replace(stray, "");
    }
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_owned()
}

/// The start of `text`, for messages: at most 160 characters.
fn snippet(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text.chars().take(160).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `<｜tool▁calls▁begin｜>` as DeepSeek writes it and as it comes out when the special
/// characters were typed in ASCII: `words` are the marker's words.
fn marker_variants(words: &str) -> Vec<String> {
    let mut out = Vec::new();
    for bar in ["｜", "|"] {
        for sep in ["▁", "_"] {
            out.push(format!("<{bar}{}{bar}>", words.replace(' ', sep)));
        }
    }
    out
}

/// The first occurrence at or after `from` of any of `needles` that `ok` accepts, with the
/// length of the needle found.
fn first_of(
    text: &str,
    needles: &[String],
    from: usize,
    ok: impl Fn(usize) -> bool,
) -> Option<(usize, usize)> {
    needles
        .iter()
        .filter_map(|needle| {
            let mut start = from;
            while let Some(i) = text.get(start..).and_then(|rest| rest.find(needle.as_str())) {
                let at = start + i;
                if ok(at) {
                    return Some((at, needle.len()));
                }
                start = at + needle.len();
            }
            None
        })
        .min()
}

/// The last occurrence at or after `from` of any of `needles`.
fn last_of(text: &str, needles: &[String], from: usize) -> Option<(usize, usize)> {
    needles
        .iter()
        .filter_map(|needle| {
            let at = text.get(from..)?.rfind(needle.as_str())?;
            Some((from + at, needle.len()))
        })
        .max()
}

/// The body of a fenced block (```json … ```), or the text as it is.
fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else { return text };
    let rest = match rest.find('\n') {
        Some(i) => &rest[i + 1..],
        None => rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    };
    let rest = rest.trim_end();
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// Whether the `{` or `[` at `at` opens something that may be a call: an object whose first
/// key is one a call has, or a list starting with such an object.
fn keyed_opening(text: &str, at: usize) -> bool {
    let rest = &text[at..];
    let rest = if let Some(inner) = rest.strip_prefix('[') {
        match inner.trim_start().strip_prefix('{') {
            Some(object) => object,
            None => return false,
        }
    } else {
        match rest.strip_prefix('{') {
            Some(object) => object,
            None => return false,
        }
    };
    let rest = rest.trim_start().trim_start_matches(['"', '\'']);
    let key_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let key = &rest[..key_len];
    let after = rest[key_len..].trim_start_matches(['"', '\'']).trim_start();
    after.starts_with(':')
        && matches!(
            key,
            "name"
                | "function"
                | "tool"
                | "tool_name"
                | "type"
                | "id"
                | "tool_calls"
                | "arguments"
                | "parameters"
        )
}

/// The end (exclusive) of the JSON-ish value opening at `start` (`{` or `[`), following
/// strings in double or single quotes; `None` when the text ends first.
fn balanced_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(start + i + c.len_utf8());
                }
            }
            _ => {}
        }
    }
    None
}

/// Strict JSON, else repaired.
fn lenient_value(text: &str) -> Option<Value> {
    serde_json::from_str(text.trim()).ok().or_else(|| repaired(text.trim()))
}

/// The JSON object opening at `start`: its end and its value (read leniently; an object that
/// never closes runs to the end of the text).
fn object_at(text: &str, start: usize) -> (usize, Result<Value, String>) {
    let end = balanced_end(text, start).unwrap_or(text.len());
    (end, parse_arguments(&text[start..end]))
}

/// JSON values one after another from `start` (separated by whitespace, commas or `;`): the
/// end of the last, and each value or why it could not be read.
fn json_run(text: &str, start: usize) -> (usize, Vec<Result<Value, String>>) {
    let mut values = Vec::new();
    let mut cursor = start;
    let mut end = start;
    loop {
        let rest = &text[cursor..];
        let skipped =
            rest.len() - rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';').len();
        let at = cursor + skipped;
        if !text[at..].starts_with(['{', '[']) {
            break;
        }
        let close = balanced_end(text, at);
        let stop = close.unwrap_or(text.len());
        let piece = &text[at..stop];
        values.push(lenient_value(piece).ok_or_else(|| "JSON that cannot be read".to_owned()));
        end = stop;
        cursor = stop;
        if close.is_none() {
            break;
        }
    }
    (end, values)
}

/// The `(name, arguments)` of each call a JSON value holds: `{"name", "arguments" |
/// "parameters" | "args" | "input"}`, `{"function": {…}}`, `{"function": NAME, …}`,
/// `{"tool": NAME, …}`, `{"tool_calls": […]}`, or a list of these. `None` when something in it
/// is not a call. `strict` (JSON outside any wrapper) also wants arguments to be given, or
/// nothing but the name: `{"name": "read_file", "description": …}` describes a tool.
fn call_shapes(value: &Value, strict: bool) -> Option<Vec<RawCall>> {
    match value {
        Value::Array(items) if !items.is_empty() => {
            let mut out = Vec::new();
            for item in items {
                out.extend(call_shapes(item, strict)?);
            }
            Some(out)
        }
        Value::Object(object) => {
            if let Some(calls) = object.get("tool_calls").filter(|c| c.is_array()) {
                return call_shapes(calls, strict);
            }
            if let Some(inner @ Value::Object(_)) = object.get("function") {
                return call_shapes(inner, strict);
            }
            let name = ["name", "function", "tool", "tool_name"]
                .iter()
                .find_map(|key| object.get(*key).and_then(Value::as_str))?;
            let arguments = ["arguments", "parameters", "args", "input", "tool_input", "params"]
                .iter()
                .find_map(|k| object.get(*k));
            let bare_name = object.keys().all(|k| matches!(k.as_str(), "name" | "type" | "id"));
            // A tool's description (with its `parameters` schema) is not a call of it.
            if strict && ((arguments.is_none() && !bare_name) || object.contains_key("description")) {
                return None;
            }
            Some(vec![(name.to_owned(), arguments_of(arguments))])
        }
        _ => None,
    }
}

/// A call's arguments: an object, a JSON string holding one, or none (`{}`).
fn arguments_of(arguments: Option<&Value>) -> Result<Value, String> {
    match arguments {
        None | Some(Value::Null) => Ok(json!({})),
        Some(object @ Value::Object(_)) => Ok(object.clone()),
        Some(Value::String(raw)) => parse_arguments(raw),
        Some(other) => Err(format!("the arguments are {} instead of a JSON object", kind_of(other))),
    }
}

/// Qwen3-Coder's `<parameter=NAME>value</parameter>`s, each value read as the tool's schema
/// says (text for strings, JSON for numbers, booleans, lists and objects).
fn parameters(inner: &str, tool: &ToolSpec) -> Value {
    let mut arguments = Map::new();
    let mut from = 0;
    while let Some(found) = inner.get(from..).and_then(|rest| rest.find("<parameter=")) {
        let name_start = from + found + "<parameter=".len();
        let Some(name_len) = inner[name_start..].find('>') else { break };
        let name = inner[name_start..name_start + name_len].trim().trim_matches(['"', '\'']).to_owned();
        let value_start = name_start + name_len + 1;
        let next = inner[value_start..].find("<parameter=").map(|i| value_start + i);
        let (value_end, after) = match inner[value_start..].find("</parameter>").map(|i| value_start + i) {
            Some(at) if next.is_none_or(|n| at < n) => (at, at + "</parameter>".len()),
            _ => {
                let stop = next.unwrap_or(inner.len());
                (stop, stop)
            }
        };
        let raw = inner[value_start..value_end].strip_prefix('\n').unwrap_or(&inner[value_start..value_end]);
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        arguments.insert(name.clone(), typed_value(raw, &tool.input_schema["properties"][&name]));
        from = after.max(value_start);
    }
    Value::Object(arguments)
}

fn typed_value(raw: &str, schema: &Value) -> Value {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let wants_text = types.contains(&"string") || (types.is_empty() && !looks_like_json(raw));
    if wants_text {
        return Value::String(raw.to_owned());
    }
    lenient_value(raw).unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn looks_like_json(raw: &str) -> bool {
    let t = raw.trim();
    t.starts_with(['{', '[']) || matches!(t, "true" | "false" | "null") || t.parse::<f64>().is_ok()
}

/// Python-style calls: `name(a=1, b="x")`, `name.call(…)` (Llama's built-in tools), or a list
/// of them (`[a(x=1), b()]`, Llama 3.2). `None` when the text is not such calls.
fn pythonic_calls(body: &str) -> Option<(Vec<RawCall>, usize)> {
    let mut calls = Vec::new();
    let mut rest = body.trim_start();
    let listed = rest.starts_with('[');
    if listed {
        rest = rest.strip_prefix('[')?.trim_start();
    }
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        if let Some(after) = rest.strip_prefix(']').filter(|_| listed) {
            rest = after;
            break;
        }
        // Prose after the calls ends them.
        if rest.is_empty() || (!calls.is_empty() && !starts_call(rest)) {
            break;
        }
        let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))?;
        if name_len == 0 {
            return None;
        }
        let name = rest[..name_len].strip_suffix(".call").unwrap_or(&rest[..name_len]).to_owned();
        rest = rest[name_len..].trim_start().strip_prefix('(')?;
        let mut arguments = Map::new();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            if let Some(after) = rest.strip_prefix(')') {
                rest = after;
                break;
            }
            let key_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            if key_len == 0 {
                return None;
            }
            let key = rest[..key_len].to_owned();
            rest = rest[key_len..].trim_start().strip_prefix('=')?.trim_start();
            let value_len = literal_len(rest)?;
            let value = lenient_value(&rest[..value_len])?;
            arguments.insert(key, value);
            rest = &rest[value_len..];
        }
        calls.push((name, Ok(Value::Object(arguments))));
    }
    (!calls.is_empty()).then_some((calls, body.len() - rest.len()))
}

/// Whether `text` starts with `identifier(`.
fn starts_call(text: &str) -> bool {
    let len = text.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).unwrap_or(text.len());
    len > 0 && text[len..].trim_start().starts_with('(')
}

/// The length of the Python literal at the start of `text`: up to a `,` or `)` outside quotes
/// and brackets.
fn literal_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth > 0 => depth -= 1,
            ',' | ')' if depth == 0 => return (i > 0).then_some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "read_file".into(),
                description: "Read a file".into(),
                input_schema: json!({"type": "object", "properties": {
                    "path": {"type": "string"}, "start_line": {"type": "integer"}}, "required": ["path"]}),
            },
            ToolSpec {
                name: "list_files".into(),
                description: "List".into(),
                input_schema: json!({"type": "object"}),
            },
        ]
    }

    fn one(text: &str) -> (String, Value, String) {
        let parsed = parse_text_tool_calls(text, &tools());
        assert_eq!(parsed.calls.len(), 1, "{text}: {parsed:?}");
        let call = &parsed.calls[0];
        (call.name.clone(), call.arguments.clone(), parsed.text)
    }

    #[test]
    fn hermes_with_prose_around() {
        let (name, args, text) = one(
            "Let me look.\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.rs\"}}\n</tool_call>",
        );
        assert_eq!((name.as_str(), args), ("read_file", json!({"path": "a.rs"})));
        assert_eq!(text, "Let me look.");
    }

    #[test]
    fn qwen3_coder_parameters_follow_the_schema() {
        let (_, args, _) = one(
            "<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/main.rs\n</parameter>\n<parameter=start_line>\n10\n</parameter>\n</function>\n</tool_call>",
        );
        assert_eq!(args, json!({"path": "src/main.rs", "start_line": 10}));
    }

    #[test]
    fn pythonic_calls_are_read() {
        let (name, args, _) = one("<|python_tag|>read_file.call(path='x.py', start_line=3)<|eom_id|>");
        assert_eq!((name.as_str(), args), ("read_file", json!({"path": "x.py", "start_line": 3})));
    }

    #[test]
    fn prose_json_is_not_a_call() {
        let parsed = parse_text_tool_calls("Send {\"name\": \"Ada\", \"age\": 36} to the API.", &tools());
        assert!(parsed.calls.is_empty() && parsed.malformed.is_empty(), "{parsed:?}");
        assert_eq!(parsed.text, "Send {\"name\": \"Ada\", \"age\": 36} to the API.");
    }
}
