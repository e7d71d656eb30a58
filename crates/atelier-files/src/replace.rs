//! Replace across files: the files [`crate::search`] finds, each rewritten in memory with the
//! same compiled pattern (`$1` / `${name}` in the replacement when it is a regex), with a
//! unified diff of each change. Writing is the caller's business (after a checkpoint).

use std::path::Path;

use grep_matcher::{Captures, Matcher};

use crate::search::matcher;
use crate::{FilesError, SearchOptions, read, search};

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// Relative to the project, with `/`.
    pub path: String,
    pub replacements: usize,
    pub before: String,
    pub after: String,
    /// Unified, 3 lines of context, `a/<path>` and `b/<path>` headers.
    pub diff: String,
}

/// What replacing `query` by `replacement` would change, file by file (sorted by path). With
/// `only`, just those files (others are left out even when they match). Files that cannot be
/// read as text (binary, over the size limit) are skipped as find in files skips them.
pub fn plan_replace(
    root: &Path,
    query: &str,
    replacement: &str,
    options: &SearchOptions,
    only: Option<&[String]>,
) -> Result<Vec<Replaced>, FilesError> {
    let pattern = matcher(query, options)?;
    let mut every = options.clone();
    every.limit = usize::MAX / 2;
    every.max_line_chars = 1;
    let found = search(root, query, &every)?;
    let mut paths: Vec<String> = found.matches.into_iter().map(|m| m.path).collect();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        if only.is_some_and(|only| !only.iter().any(|p| crate::clean(p).is_ok_and(|p| p == path))) {
            continue;
        }
        let before = match read(root, &path) {
            Ok(text) => text,
            Err(FilesError::Binary { .. } | FilesError::TooLarge { .. } | FilesError::NotFound { .. }) => {
                continue;
            }
            Err(e) => return Err(e),
        };
        let (after, replacements) = replace_text(&pattern, &before, replacement, options.regex)?;
        if replacements == 0 || after == before {
            continue;
        }
        let diff = similar::TextDiff::from_lines(&before, &after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        out.push(Replaced { path, replacements, before, after, diff });
    }
    Ok(out)
}

fn replace_text(
    pattern: &grep_regex::RegexMatcher,
    text: &str,
    replacement: &str,
    regex: bool,
) -> Result<(String, usize), FilesError> {
    fn failed(e: impl std::fmt::Display) -> FilesError {
        FilesError::Invalid { what: "replace".into(), reason: e.to_string() }
    }
    let haystack = text.as_bytes();
    let mut caps = pattern.new_captures().map_err(failed)?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut count = 0;
    let mut too_big = false;
    pattern
        .replace_with_captures(haystack, &mut caps, &mut out, |caps, dst| {
            // A file the editor could no longer open is not written (`.` replaced by a long
            // text would multiply a file's size).
            if dst.len() as u64 > crate::MAX_READ_BYTES {
                too_big = true;
                return false;
            }
            count += 1;
            if regex {
                caps.interpolate(|name| pattern.capture_index(name), haystack, replacement.as_bytes(), dst);
            } else {
                dst.extend_from_slice(replacement.as_bytes());
            }
            true
        })
        .map_err(failed)?;
    if too_big {
        return Err(FilesError::Invalid {
            what: "replace".into(),
            reason: format!("the result would be over {} bytes; replace less at once", crate::MAX_READ_BYTES),
        });
    }
    // Whole matches of valid UTF-8 replaced by UTF-8 text stay UTF-8; should a capture split a
    // character anyway, the file is left alone rather than corrupted.
    let after = String::from_utf8(out).map_err(|_| FilesError::Invalid {
        what: "replace".into(),
        reason: "the replacement would not be valid UTF-8".into(),
    })?;
    Ok((after, count))
}
