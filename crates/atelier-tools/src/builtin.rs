//! The built-in tools, with the names and argument shapes of the API (docs/protocol.md):
//! `list_files`, `read_file`, `find_in_files`, `search_code`, `write_file`, `edit_file`,
//! `run_command`. Every path goes through atelier-files' resolver; every failure the model can
//! correct comes back as a tool error that says what to do.
//!
//! Arguments are read leniently, because small models write `"10"` for 10 and `"true"` for
//! true; a missing or unusable argument is an error naming it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Effect, Tool, ToolContext, ToolError, ToolInfo, ToolOutput, truncate_result};

/// The built-in tools.
pub fn all() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(ListFiles::new()),
        Arc::new(ReadFile::new()),
        Arc::new(FindInFiles::new()),
        Arc::new(SearchCode::new()),
        Arc::new(WriteFile::new()),
        Arc::new(EditFile::new()),
        Arc::new(RunCommand::new()),
    ]
}

/// Lines `read_file` returns when no range is asked for.
pub const READ_PAGE_LINES: usize = 400;
/// Entries `list_files` returns at most.
const LIST_LIMIT: usize = 500;
/// Matching lines `find_in_files` returns at most.
const FIND_LIMIT: usize = 200;
/// `run_command`'s timeout when the model names none, and the longest it may ask for.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const RUN_TIMEOUT_MAX: Duration = Duration::from_secs(1800);
/// Output of a command kept in full (the model gets a cut of it).
const RUN_OUTPUT_CAP: usize = 4 * 1024 * 1024;

fn info(name: &str, description: &str, effect: Effect, input_schema: Value) -> ToolInfo {
    ToolInfo {
        name: name.into(),
        description: description.into(),
        source: "builtin".into(),
        effect,
        input_schema,
        trusted: false,
    }
}

/// An argument read leniently.
struct Args<'a>(&'a Value);

impl Args<'_> {
    fn string(&self, name: &str) -> Result<String, String> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Null) | None => Err(format!("the argument `{name}` is missing")),
            Some(other) => Err(format!("the argument `{name}` must be a string, not {other}")),
        }
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    fn number(&self, name: &str) -> Result<Option<u64>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .map(Some)
                .ok_or_else(|| format!("the argument `{name}` must be a whole number ≥ 0")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("the argument `{name}` must be a whole number, not `{s}`")),
            Some(other) => Err(format!("the argument `{name}` must be a whole number, not {other}")),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Some(true)),
                "false" | "no" | "0" | "" => Ok(Some(false)),
                _ => Err(format!("the argument `{name}` must be true or false, not `{s}`")),
            },
            Some(other) => Err(format!("the argument `{name}` must be true or false, not {other}")),
        }
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ToolError::Failed(format!("a file task failed: {e}")))
}

/// A file error as the model should read it.
fn file_error(e: &atelier_files::FilesError) -> String {
    use atelier_files::FilesError as F;
    match e {
        F::NotFound { path } => format!("`{path}` does not exist; list_files shows what does"),
        F::IsDir { path } => {
            format!("`{path}` is a folder; list_files {{\"path\": \"{path}\"}} shows what is in it")
        }
        other => other.to_string(),
    }
}

macro_rules! tool_info {
    () => {
        fn info(&self) -> &ToolInfo {
            &self.info
        }
    };
}

pub struct ListFiles {
    info: ToolInfo,
}

impl ListFiles {
    fn new() -> Self {
        Self {
            info: info(
                "list_files",
                "List the project's files and folders (what .gitignore ignores is left out). Give `path` \
                 to list one folder.",
                Effect::Read,
                json!({ "type": "object", "properties": {
                    "path": { "type": "string", "description": "a folder relative to the project; empty for all" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for ListFiles {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let path = match Args(&arguments).optional_string("path") {
            Ok(path) => path.unwrap_or_default(),
            Err(e) => return Ok(ToolOutput::error(e)),
        };
        let path = path.trim_matches('/').to_owned();
        let path = if path == "." { String::new() } else { path };
        let root = ctx.root.clone();
        let shown = path.clone();
        let entries = blocking(move || atelier_files::tree(&root, &path)).await?;
        let entries = match entries {
            Ok(entries) => entries,
            Err(e) => return Ok(ToolOutput::error(file_error(&e))),
        };
        if entries.is_empty() {
            return Ok(ToolOutput::ok(if shown.is_empty() {
                "The project is empty.".to_owned()
            } else {
                format!("`{shown}` is empty.")
            }));
        }
        let mut out = String::new();
        for entry in entries.iter().take(LIST_LIMIT) {
            if entry.is_dir {
                out.push_str(&format!("{}/\n", entry.path));
            } else {
                out.push_str(&format!("{} ({} bytes)\n", entry.path, entry.size));
            }
        }
        if entries.len() > LIST_LIMIT {
            out.push_str(&format!(
                "… and {} more; list a folder with {{\"path\": \"…\"}} to see the rest\n",
                entries.len() - LIST_LIMIT
            ));
        }
        Ok(ToolOutput::ok(truncate_result(&out, ctx.max_result_chars, "list a folder to see the rest")))
    }
}

pub struct ReadFile {
    info: ToolInfo,
}

impl ReadFile {
    fn new() -> Self {
        Self {
            info: info(
                "read_file",
                "Read a text file of the project. Long files come in pages of 400 lines: give \
                 `start_line` (and `end_line`) to read another part.",
                Effect::Read,
                json!({ "type": "object", "required": ["path"], "properties": {
                    "path": { "type": "string", "description": "relative to the project" },
                    "start_line": { "type": "integer", "description": "first line to read, from 1" },
                    "end_line": { "type": "integer", "description": "last line to read" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for ReadFile {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let args = Args(&arguments);
        let (path, start, end) =
            match (args.string("path"), args.number("start_line"), args.number("end_line")) {
                (Ok(p), Ok(s), Ok(e)) => (p, s, e),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(ToolOutput::error(e)),
            };
        let root = ctx.root.clone();
        let read_path = path.clone();
        let text = match blocking(move || atelier_files::read(&root, &read_path)).await? {
            Ok(text) => text,
            Err(e) => return Ok(ToolOutput::error(file_error(&e))),
        };
        let lines: Vec<&str> = text.lines().collect();
        let total = lines.len();
        if total == 0 {
            return Ok(ToolOutput::ok(format!("`{path}` is empty.")));
        }
        let first = start.unwrap_or(1).max(1) as usize;
        if first > total {
            return Ok(ToolOutput::error(format!(
                "`{path}` has {total} lines; start_line {first} is past its end"
            )));
        }
        let last = end.map_or(first + READ_PAGE_LINES - 1, |e| e as usize).clamp(first, total);
        let last = last.min(first + 2 * READ_PAGE_LINES - 1);
        let mut body = lines[first - 1..last].join("\n");
        // Cut a page of very long lines to what the model can take, and say where it ended.
        let budget = ctx.max_result_chars.saturating_sub(200);
        let mut shown_last = last;
        if body.chars().count() > budget {
            let mut used = 0;
            shown_last = first - 1;
            for line in &lines[first - 1..last] {
                used += line.chars().count() + 1;
                if used > budget && shown_last >= first {
                    break;
                }
                shown_last += 1;
            }
            body = lines[first - 1..shown_last].join("\n");
            body = truncate_result(&body, budget, "the line is very long");
        }
        let header = if first == 1 && shown_last == total {
            format!("`{path}` ({total} lines):\n")
        } else {
            format!("`{path}`, lines {first}-{shown_last} of {total}:\n")
        };
        let footer = if shown_last < total {
            format!(
                "\n[{} more lines; read_file with start_line {} reads on]",
                total - shown_last,
                shown_last + 1
            )
        } else {
            String::new()
        };
        Ok(ToolOutput::ok(format!("{header}{body}{footer}")))
    }
}

pub struct FindInFiles {
    info: ToolInfo,
}

impl FindInFiles {
    fn new() -> Self {
        Self {
            info: info(
                "find_in_files",
                "Find the lines of the project's files that contain `pattern` (plain text, or a \
                 regular expression with `regex`: true). `glob` limits it to some files, e.g. `*.rs` \
                 or `src/**`. Answers path:line: text.",
                Effect::Read,
                json!({ "type": "object", "required": ["pattern"], "properties": {
                    "pattern": { "type": "string" },
                    "regex": { "type": "boolean" },
                    "glob": { "type": "string" }
                } }),
            ),
        }
    }
}

/// `path:line: text` lines for matches, and a note when there were more.
fn format_matches(result: &atelier_files::SearchResult, max_chars: usize) -> String {
    let mut out = String::new();
    for m in &result.matches {
        out.push_str(&format!("{}:{}: {}\n", m.path, m.line, m.text.trim_end()));
    }
    if result.truncated {
        out.push_str("[more matches left out; make the pattern narrower or add a glob]\n");
    }
    truncate_result(&out, max_chars, "make the pattern narrower or add a glob")
}

#[async_trait::async_trait]
impl Tool for FindInFiles {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let args = Args(&arguments);
        let (pattern, regex, glob) =
            match (args.string("pattern"), args.boolean("regex"), args.optional_string("glob")) {
                (Ok(p), Ok(r), Ok(g)) => (p, r.unwrap_or(false), g),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(ToolOutput::error(e)),
            };
        let options = atelier_files::SearchOptions {
            regex,
            globs: glob.into_iter().collect(),
            limit: FIND_LIMIT,
            ..Default::default()
        };
        let root = ctx.root.clone();
        let query = pattern.clone();
        let result = match blocking(move || atelier_files::search(&root, &query, &options)).await? {
            Ok(result) => result,
            Err(e) => return Ok(ToolOutput::error(file_error(&e))),
        };
        if result.matches.is_empty() {
            return Ok(ToolOutput::ok(format!(
                "No line contains `{pattern}` ({} files searched).",
                result.files_searched
            )));
        }
        Ok(ToolOutput::ok(format_matches(&result, ctx.max_result_chars)))
    }
}

pub struct SearchCode {
    info: ToolInfo,
}

impl SearchCode {
    fn new() -> Self {
        Self {
            info: info(
                "search_code",
                "Find where the project deals with something, in words (e.g. `parse config file`): \
                 the files that mention the most of the words, with their matching lines.",
                Effect::Read,
                json!({ "type": "object", "required": ["query"], "properties": {
                    "query": { "type": "string" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for SearchCode {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let query = match Args(&arguments).string("query") {
            Ok(q) => q,
            Err(e) => return Ok(ToolOutput::error(e)),
        };
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .take(8)
            .collect();
        if words.is_empty() {
            return Ok(ToolOutput::error(
                "give some words to look for (at least one of three letters or more)".to_owned(),
            ));
        }
        let root = ctx.root.clone();
        let ranked = blocking(move || rank_files(&root, &words)).await?;
        if ranked.is_empty() {
            return Ok(ToolOutput::ok(format!("Nothing in the project mentions `{query}`.")));
        }
        let mut out = String::new();
        for file in ranked.iter().take(10) {
            out.push_str(&format!("{} ({} matching lines)\n", file.path, file.lines.len()));
            for (line, text) in file.lines.iter().take(5) {
                out.push_str(&format!("  {line}: {}\n", text.trim()));
            }
        }
        Ok(ToolOutput::ok(truncate_result(&out, ctx.max_result_chars, "ask a narrower question")))
    }
}

/// A file that mentions some of the words looked for.
struct Ranked {
    path: String,
    /// Which of the words it mentions.
    words: std::collections::HashSet<usize>,
    /// Its matching lines: number and text.
    lines: Vec<(u64, String)>,
}

/// Files ranked by how many of `words` they mention, then by matching lines.
fn rank_files(root: &std::path::Path, words: &[String]) -> Vec<Ranked> {
    let mut files: std::collections::HashMap<String, Ranked> = std::collections::HashMap::new();
    for (i, word) in words.iter().enumerate() {
        let options = atelier_files::SearchOptions {
            case_sensitive: Some(false),
            limit: 2000,
            max_line_chars: 200,
            ..Default::default()
        };
        let Ok(result) = atelier_files::search(root, word, &options) else { continue };
        for m in result.matches {
            let entry = files.entry(m.path.clone()).or_insert_with(|| Ranked {
                path: m.path.clone(),
                words: Default::default(),
                lines: Vec::new(),
            });
            entry.words.insert(i);
            if !entry.lines.iter().any(|(l, _)| *l == m.line) {
                entry.lines.push((m.line, m.text));
            }
        }
    }
    let mut ranked: Vec<Ranked> = files.into_values().collect();
    for file in &mut ranked {
        file.lines.sort();
    }
    ranked.sort_by(|a, b| {
        b.words.len().cmp(&a.words.len()).then(b.lines.len().cmp(&a.lines.len())).then(a.path.cmp(&b.path))
    });
    ranked
}

pub struct WriteFile {
    info: ToolInfo,
}

impl WriteFile {
    fn new() -> Self {
        Self {
            info: info(
                "write_file",
                "Create a file, or replace a file's whole content. For a small change to an existing \
                 file use edit_file.",
                Effect::Write,
                json!({ "type": "object", "required": ["path", "content"], "properties": {
                    "path": { "type": "string", "description": "relative to the project" },
                    "content": { "type": "string", "description": "the complete new content" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for WriteFile {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let args = Args(&arguments);
        let (path, content) = match (args.string("path"), args.string("content")) {
            (Ok(p), Ok(c)) => (p, c),
            (Err(e), _) | (_, Err(e)) => return Ok(ToolOutput::error(e)),
        };
        let root = ctx.root.clone();
        let (write_path, bytes) = (path.clone(), content.len());
        let written = blocking(move || {
            let existed = atelier_files::resolve(&root, &write_path).map(|p| p.exists())?;
            atelier_files::write(&root, &write_path, &content).map(|()| existed)
        })
        .await?;
        match written {
            Ok(existed) => {
                let clean = atelier_files::clean(&path).unwrap_or(path);
                let verb = if existed { "replaced" } else { "created" };
                let mut output = ToolOutput::ok(format!("{verb} `{clean}` ({bytes} bytes)"));
                output.changed.push(clean);
                Ok(output)
            }
            Err(e) => Ok(ToolOutput::error(file_error(&e))),
        }
    }
}

pub struct EditFile {
    info: ToolInfo,
}

impl EditFile {
    fn new() -> Self {
        Self {
            info: info(
                "edit_file",
                "Change part of an existing file: `search` must be copied exactly from the file (text \
                 that occurs once; a few whole lines are safest) and is replaced by `replace`. If it is not found, the \
                 closest lines are shown: copy them exactly and try again.",
                Effect::Write,
                json!({ "type": "object", "required": ["path", "search", "replace"], "properties": {
                    "path": { "type": "string" },
                    "search": { "type": "string", "description": "exact lines from the file" },
                    "replace": { "type": "string", "description": "what they become" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for EditFile {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        _output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let args = Args(&arguments);
        let (path, search, replace) =
            match (args.string("path"), args.string("search"), args.string("replace")) {
                (Ok(p), Ok(s), Ok(r)) => (p, s, r),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(ToolOutput::error(e)),
            };
        let root = ctx.root.clone();
        let edit_path = path.clone();
        let outcome = blocking(move || -> Result<Result<usize, String>, atelier_files::FilesError> {
            let current = atelier_files::read(&root, &edit_path)?;
            // Text found exactly once, even inside a line, is replaced as it is (models often
            // give part of a line); else the line-wise match that forgives indentation.
            let found = if search.is_empty() { 0 } else { current.matches(search.as_str()).count() };
            if found > 1 {
                return Ok(Err(format!(
                    "the search text matches {found} places; include more of the text around it so it matches one"
                )));
            }
            if found == 1 {
                let changed = current.replacen(search.as_str(), &replace, 1);
                atelier_files::write(&root, &edit_path, &changed)?;
                return Ok(Ok(changed.lines().count()));
            }
            let edit = crate::edit::Edit { search, replace };
            match crate::edit::apply_edits(&current, std::slice::from_ref(&edit)) {
                Ok(changed) => {
                    atelier_files::write(&root, &edit_path, &changed)?;
                    Ok(Ok(changed.lines().count()))
                }
                Err(e) => Ok(Err(e.0)),
            }
        })
        .await?;
        match outcome {
            Ok(Ok(lines)) => {
                let clean = atelier_files::clean(&path).unwrap_or(path);
                let mut output = ToolOutput::ok(format!("edited `{clean}` (now {lines} lines)"));
                output.changed.push(clean);
                Ok(output)
            }
            Ok(Err(message)) => Ok(ToolOutput::error(format!(
                "`{path}` was not changed: {}",
                message.trim_start_matches("block 1: ")
            ))),
            Err(e) => Ok(ToolOutput::error(file_error(&e))),
        }
    }
}

pub struct RunCommand {
    info: ToolInfo,
}

impl RunCommand {
    fn new() -> Self {
        Self {
            info: info(
                "run_command",
                "Run a shell command in the project folder (e.g. tests or a build) and get its output \
                 and exit code. It is stopped after `timeout_s` seconds (default 120).",
                Effect::Run,
                json!({ "type": "object", "required": ["command"], "properties": {
                    "command": { "type": "string" },
                    "timeout_s": { "type": "integer", "description": "seconds, at most 1800" }
                } }),
            ),
        }
    }
}

#[async_trait::async_trait]
impl Tool for RunCommand {
    tool_info!();

    async fn call(
        &self,
        ctx: &ToolContext,
        arguments: Value,
        output: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<ToolOutput, ToolError> {
        let args = Args(&arguments);
        let (command, timeout) = match (args.string("command"), args.number("timeout_s")) {
            (Ok(c), Ok(t)) => (c, t),
            (Err(e), _) | (_, Err(e)) => return Ok(ToolOutput::error(e)),
        };
        if command.trim().is_empty() {
            return Ok(ToolOutput::error("the command is empty".to_owned()));
        }
        let timeout =
            timeout.map_or(RUN_TIMEOUT, Duration::from_secs).clamp(Duration::from_secs(1), RUN_TIMEOUT_MAX);
        let request = crate::RunRequest { command: command.clone(), timeout, output_cap: RUN_OUTPUT_CAP };
        // Output goes out as text; a multi-byte character split between two reads is held back
        // until it is whole.
        let mut pending: Vec<u8> = Vec::new();
        let mut on_output = |bytes: &[u8]| {
            pending.extend_from_slice(bytes);
            let valid = match std::str::from_utf8(&pending) {
                Ok(_) => pending.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => pending.len(),
            };
            let text = String::from_utf8_lossy(&pending[..valid]).into_owned();
            pending.drain(..valid);
            if !text.is_empty() {
                output(&text);
            }
        };
        let outcome = match ctx.runner.run(request, &ctx.cancel, &mut on_output).await {
            Ok(outcome) => outcome,
            Err(e) => return Ok(ToolOutput::error(e)),
        };
        if outcome.cancelled {
            return Err(ToolError::Cancelled);
        }
        let mut text = truncate_result(
            &outcome.output,
            ctx.max_result_chars.saturating_sub(300),
            "the output is long; redirect it to a file and read parts of it, or grep it",
        );
        if outcome.truncated_bytes > 0 {
            text.push_str(&format!("\n[{} more bytes of output were not kept]", outcome.truncated_bytes));
        }
        let ran = format!("(ran in {}, {:.1} s)", outcome.mode, outcome.duration.as_secs_f64());
        let status = if outcome.timed_out {
            format!("`{command}` did not finish within {} s and was stopped {ran}", timeout.as_secs())
        } else {
            match outcome.exit_code {
                Some(code) => format!("`{command}` exited with code {code} {ran}"),
                None => format!("`{command}` was ended by signal {} {ran}", outcome.signal.unwrap_or(0)),
            }
        };
        let content = if text.trim().is_empty() {
            format!("{status}; no output")
        } else {
            format!("{status}:\n{text}")
        };
        Ok(if outcome.success() { ToolOutput::ok(content) } else { ToolOutput::error(content) })
    }
}
