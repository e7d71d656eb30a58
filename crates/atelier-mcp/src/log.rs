//! A server's recent stderr (and any stray stdout) lines: bounded in lines and in line length,
//! with the server's secret values blotted out before a line is kept.

use std::collections::VecDeque;

/// Lines kept per server.
pub const KEPT_LINES: usize = 200;
/// Characters kept of one line; the rest is cut with `…`.
const LINE_CHARS: usize = 1000;

#[derive(Debug, Default)]
pub struct ServerLog {
    lines: VecDeque<String>,
    secrets: Vec<String>,
    /// Lines on stdout that were not JSON-RPC, and the first of them (redacted, cut).
    garbage: u64,
    first_garbage: Option<String>,
}

impl ServerLog {
    pub fn new(secrets: Vec<String>) -> ServerLog {
        ServerLog { lines: VecDeque::new(), secrets, garbage: 0, first_garbage: None }
    }

    /// A stdout line that is not an MCP message: kept in the log, and remembered for the
    /// status of a server that never answers.
    pub fn stdout_garbage(&mut self, line: &str) {
        self.garbage += 1;
        if self.first_garbage.is_none() {
            let short: String = redact(line, &self.secrets).chars().take(120).collect();
            self.first_garbage = Some(short);
        }
        self.push(&format!("stdout (not MCP): {line}"));
    }

    /// How many stdout lines were not MCP, and the first of them.
    pub fn garbage(&self) -> Option<(u64, &str)> {
        self.first_garbage.as_deref().map(|first| (self.garbage, first))
    }

    /// Forgets the stray-stdout count (a new process starts).
    pub fn reset_garbage(&mut self) {
        self.garbage = 0;
        self.first_garbage = None;
    }

    /// `text` with this server's secrets blotted out.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }

    pub fn push(&mut self, line: &str) {
        let mut line = redact(line.trim_end_matches(['\r', '\n']), &self.secrets);
        if line.chars().count() > LINE_CHARS {
            line = line.chars().take(LINE_CHARS).collect::<String>() + "…";
        }
        if self.lines.len() == KEPT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        self.lines.iter().skip(self.lines.len().saturating_sub(n)).cloned().collect()
    }

    /// The last line that is not blank, for an error message.
    pub fn last(&self) -> Option<&str> {
        self.lines.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty())
    }
}

/// `text` with each of `secrets` replaced by `<redacted>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "<redacted>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_and_never_keeps_a_secret() {
        let mut log = ServerLog::new(vec!["hunter22".into()]);
        for i in 0..(KEPT_LINES + 50) {
            log.push(&format!("line {i} token=hunter22"));
        }
        let tail = log.tail(usize::MAX);
        assert_eq!(tail.len(), KEPT_LINES);
        assert_eq!(tail[0], "line 50 token=<redacted>");
        assert!(tail.iter().all(|l| !l.contains("hunter22")));
        log.push(&"x".repeat(5000));
        assert_eq!(log.last().map(|l| l.chars().count()), Some(LINE_CHARS + 1));
    }
}
