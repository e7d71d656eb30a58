//! Splits `<think>…</think>` reasoning out of a streamed reply, even when a tag arrives split
//! across chunks.

use crate::Delta;

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Default)]
pub struct ThinkSplitter {
    thinking: bool,
    /// Text that may be the start of a tag, held until the next chunk decides.
    pending: String,
    /// Right after `</think>`, leading blank lines of the reply are dropped.
    after_think: bool,
}

/// The length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_tag_len(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && tag.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}

impl ThinkSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    fn emit(&mut self, text: &str, out: &mut dyn FnMut(Delta)) {
        if text.is_empty() {
            return;
        }
        if self.thinking {
            out(Delta::Reasoning(text.to_owned()));
            return;
        }
        let text = if self.after_think { text.trim_start_matches(['\n', '\r', ' ']) } else { text };
        if text.is_empty() {
            return;
        }
        self.after_think = false;
        out(Delta::Content(text.to_owned()));
    }

    pub fn push(&mut self, chunk: &str, out: &mut dyn FnMut(Delta)) {
        self.pending.push_str(chunk);
        loop {
            let tag = if self.thinking { CLOSE } else { OPEN };
            if let Some(at) = self.pending.find(tag) {
                let before = self.pending[..at].to_owned();
                self.emit(&before, out);
                self.pending.drain(..at + tag.len());
                self.thinking = !self.thinking;
                self.after_think = !self.thinking;
                continue;
            }
            let keep = partial_tag_len(&self.pending, tag);
            let ready = self.pending[..self.pending.len() - keep].to_owned();
            self.emit(&ready, out);
            self.pending.drain(..self.pending.len() - keep);
            return;
        }
    }

    /// Emits whatever is held back at the end of the stream.
    pub fn finish(&mut self, out: &mut dyn FnMut(Delta)) {
        let rest = std::mem::take(&mut self.pending);
        self.emit(&rest, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str]) -> (String, String) {
        let mut s = ThinkSplitter::new();
        let (mut content, mut reasoning) = (String::new(), String::new());
        let mut out = |d: Delta| match d {
            Delta::Content(t) => content.push_str(&t),
            Delta::Reasoning(t) => reasoning.push_str(&t),
        };
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        (content, reasoning)
    }

    #[test]
    fn reasoning_is_kept_apart_even_with_split_tags() {
        assert_eq!(split(&["<think>hmm</think>\n\nHello"]), ("Hello".into(), "hmm".into()));
        assert_eq!(split(&["<th", "ink>a", "b</thi", "nk>", "\nOK"]), ("OK".into(), "ab".into()));
        assert_eq!(split(&["no tags at all"]), ("no tags at all".into(), String::new()));
        assert_eq!(split(&["a < b and <t"]), ("a < b and <t".into(), String::new()));
        assert_eq!(split(&["<think>never closed"]), (String::new(), "never closed".into()));
        assert_eq!(split(&["x ", "<", "think>é</think>y"]), ("x y".into(), "é".into()));
    }
}
