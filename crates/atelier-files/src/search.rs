//! Find in files with ripgrep's own crates: `ignore` walks the project in parallel the way
//! ripgrep does (`.gitignore` honoured, `.git` skipped), `grep-regex` compiles the pattern and
//! `grep-searcher` reads each file (binary files skipped). Used by the agents' `find_in_files`
//! tool and by the editor's find in files.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, SearcherBuilder, sinks};
use ignore::WalkState;

use crate::FilesError;

/// What to look for and where.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// A regular expression when `regex`, else plain text.
    pub regex: bool,
    /// `None`: smart case (case-insensitive unless the query has an upper-case letter).
    pub case_sensitive: Option<bool>,
    /// Only files whose path matches one of these globs (`*.rs`, `src/**`); `!glob` excludes.
    pub globs: Vec<String>,
    /// The most matching lines returned.
    pub limit: usize,
    /// Longest line text returned; longer lines are cut around the match.
    pub max_line_chars: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self { regex: false, case_sensitive: None, globs: Vec::new(), limit: 1000, max_line_chars: 300 }
    }
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchMatch {
    /// Relative to the project, with `/`.
    pub path: String,
    /// 1-based.
    pub line: u64,
    /// 1-based, in characters, where the first match on the line starts.
    pub column: u64,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchResult {
    /// Sorted by path, then line.
    pub matches: Vec<SearchMatch>,
    /// More lines matched than `limit`.
    pub truncated: bool,
    pub files_searched: usize,
}

/// The compiled pattern: plain text unless `regex`, smart case unless told, and never across a
/// line's end (as ripgrep matches).
pub(crate) fn matcher(query: &str, options: &SearchOptions) -> Result<RegexMatcher, FilesError> {
    let refuse = |reason: String| FilesError::Invalid { what: "search".into(), reason };
    if query.is_empty() {
        return Err(refuse("the search text is empty".into()));
    }
    if query.len() > 4096 {
        return Err(refuse("the search text is longer than 4096 bytes".into()));
    }
    let mut builder = RegexMatcherBuilder::new();
    // multi_line: `^` and `$` match at each line's start and end, as in ripgrep.
    builder.fixed_strings(!options.regex).multi_line(true).line_terminator(Some(b'\n'));
    match options.case_sensitive {
        Some(sensitive) => builder.case_insensitive(!sensitive),
        None => builder.case_smart(true),
    };
    builder.build(query).map_err(|e| refuse(format!("the pattern does not compile: {e}")))
}

/// Searches the project's files for `query`. A pattern that does not compile, or a bad glob, is
/// `Refused` with what is wrong.
pub fn search(root: &Path, query: &str, options: &SearchOptions) -> Result<SearchResult, FilesError> {
    let refuse = |reason: String| FilesError::Invalid { what: "search".into(), reason };
    let matcher = matcher(query, options)?;
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for glob in &options.globs {
        overrides.add(glob).map_err(|e| refuse(format!("the glob `{glob}` is not usable: {e}")))?;
    }
    let overrides = overrides.build().map_err(|e| refuse(format!("the globs are not usable: {e}")))?;
    let found = Mutex::new(Vec::new());
    let count = AtomicUsize::new(0);
    let files = AtomicUsize::new(0);
    let truncated = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .overrides(overrides)
        .filter_entry(|e| e.file_name() != ".git")
        .threads(threads)
        .build_parallel()
        .run(|| {
            let matcher = &matcher;
            let (found, count, files, truncated) = (&found, &count, &files, &truncated);
            let mut searcher =
                SearcherBuilder::new().binary_detection(BinaryDetection::quit(0)).line_number(true).build();
            Box::new(move |entry| {
                if truncated.load(Ordering::Relaxed) {
                    return WalkState::Quit;
                }
                let Ok(entry) = entry else { return WalkState::Continue };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let Ok(relative) = entry.path().strip_prefix(root) else { return WalkState::Continue };
                let relative = relative.to_string_lossy().replace('\\', "/");
                files.fetch_add(1, Ordering::Relaxed);
                let mut local = Vec::new();
                let searched = searcher.search_path(
                    matcher,
                    entry.path(),
                    sinks::Lossy(|line_number, line| {
                        if count.fetch_add(1, Ordering::Relaxed) >= options.limit {
                            truncated.store(true, Ordering::Relaxed);
                            return Ok(false);
                        }
                        let line = line.trim_end_matches(['\n', '\r']);
                        let start = matcher.find(line.as_bytes()).ok().flatten().map_or(0, |m| m.start());
                        let column = line.get(..start).map_or(0, |s| s.chars().count()) as u64 + 1;
                        local.push(SearchMatch {
                            path: relative.clone(),
                            line: line_number,
                            column,
                            text: excerpt(line, start, options.max_line_chars),
                        });
                        Ok(true)
                    }),
                );
                if let Err(e) = searched {
                    tracing::debug!(path = %relative, error = %e, "file not searched");
                }
                if !local.is_empty() {
                    found.lock().unwrap_or_else(|p| p.into_inner()).extend(local);
                }
                if truncated.load(Ordering::Relaxed) { WalkState::Quit } else { WalkState::Continue }
            })
        });
    let mut matches = found.into_inner().unwrap_or_else(|p| p.into_inner());
    matches.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
    matches.truncate(options.limit);
    Ok(SearchResult {
        matches,
        truncated: truncated.load(Ordering::Relaxed),
        files_searched: files.load(Ordering::Relaxed),
    })
}

/// At most `max` characters of a line, around the match when the line is longer.
fn excerpt(line: &str, match_start: usize, max: usize) -> String {
    if line.chars().count() <= max {
        return line.to_owned();
    }
    let before: usize = line.get(..match_start).map_or(0, |s| s.chars().count());
    let skip = before.saturating_sub(max / 3);
    let mut out: String = line.chars().skip(skip).take(max).collect();
    if skip > 0 {
        out.insert(0, '…');
    }
    out.push('…');
    out
}
