//! Search/replace edits to an existing file, applied all or nothing. When a search text is not
//! found, the error shows the lines that come closest, so a model can copy them exactly and try
//! again (small models often get a space, a quote or one line wrong).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub search: String,
    pub replace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

fn marker(line: &str, c: char) -> bool {
    let t = line.trim();
    let n = t.chars().take_while(|&x| x == c).count();
    (5..=9).contains(&n)
}

/// Parses `<<<<<<< SEARCH` / `=======` / `>>>>>>> REPLACE` blocks.
pub fn parse_edits(text: &str) -> Result<Vec<Edit>, EditError> {
    let text = text.replace("\r\n", "\n");
    let mut edits = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !(marker(line, '<') && line.contains("SEARCH")) {
            continue;
        }
        let mut search = Vec::new();
        let mut replace = Vec::new();
        let mut in_replace = false;
        let mut closed = false;
        for inner in lines.by_ref() {
            if !in_replace && marker(inner, '=') && inner.trim().chars().all(|c| c == '=') {
                in_replace = true;
            } else if in_replace && marker(inner, '>') && inner.contains("REPLACE") {
                closed = true;
                break;
            } else if in_replace {
                replace.push(inner);
            } else {
                search.push(inner);
            }
        }
        if !closed {
            return Err(EditError(format!("block {} is not closed with >>>>>>> REPLACE", edits.len() + 1)));
        }
        edits.push(Edit { search: search.join("\n"), replace: replace.join("\n") });
    }
    if edits.is_empty() {
        return Err(EditError("the reply has no SEARCH/REPLACE blocks".into()));
    }
    Ok(edits)
}

/// Where `search` occurs in `text` as whole lines, compared by `key`.
fn find_lines(text: &[&str], search: &[&str], key: fn(&str) -> String) -> Vec<usize> {
    if search.is_empty() || search.len() > text.len() {
        return Vec::new();
    }
    let wanted: Vec<String> = search.iter().map(|l| key(l)).collect();
    (0..=text.len() - search.len())
        .filter(|&i| text[i..i + search.len()].iter().map(|l| key(l)).eq(wanted.iter().cloned()))
        .collect()
}

/// Applies every edit or none: each search text must match exactly one place (exactly, then
/// ignoring trailing spaces, then ignoring indentation).
pub fn apply_edits(original: &str, edits: &[Edit]) -> Result<String, EditError> {
    let crlf = original.contains("\r\n");
    let mut current = original.replace("\r\n", "\n");
    for (n, edit) in edits.iter().enumerate() {
        let block = n + 1;
        if edit.search.trim().is_empty() {
            if current.trim().is_empty() {
                current = format!("{}\n", edit.replace.trim_end_matches('\n'));
                continue;
            }
            return Err(EditError(format!("block {block}: the search text is empty but the file is not")));
        }
        let lines: Vec<&str> = current.split('\n').collect();
        let search: Vec<&str> = edit.search.split('\n').collect();
        let keys: [fn(&str) -> String; 3] =
            [|l| l.to_owned(), |l| l.trim_end().to_owned(), |l| l.trim().to_owned()];
        let mut placed = None;
        for key in keys {
            let found = find_lines(&lines, &search, key);
            match found.len() {
                0 => continue,
                1 => {
                    placed = Some(found[0]);
                    break;
                }
                k => {
                    return Err(EditError(format!(
                        "block {block}: the search text matches {k} places; include more lines so it matches one"
                    )));
                }
            }
        }
        let Some(at) = placed else {
            let hint = match closest_lines(&current, &edit.search) {
                Some(close) => format!(
                    "; the closest lines are {}-{} (about {}% alike):\n{}",
                    close.start,
                    close.end,
                    (close.ratio * 100.0).round(),
                    close.text
                ),
                None => String::new(),
            };
            return Err(EditError(format!("block {block}: the search text was not found in the file{hint}")));
        };
        let mut out: Vec<&str> = lines[..at].to_vec();
        // An empty replacement deletes the lines rather than leaving a blank one.
        if !edit.replace.is_empty() {
            out.extend(edit.replace.split('\n'));
        }
        out.extend(&lines[at + search.len()..]);
        current = out.join("\n");
    }
    // A file with Windows line endings keeps them, so only the edited lines show as changed.
    Ok(if crlf { current.replace('\n', "\r\n") } else { current })
}

/// The lines of a file most like a search text that was not found.
#[derive(Debug, Clone, PartialEq)]
pub struct Closest {
    /// 1-based, inclusive.
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// 0.0 to 1.0: how alike (by `similar`'s diff ratio).
    pub ratio: f32,
}

/// The window of the file's lines (as many lines as `search` has) most like `search`, when one
/// is at least 50% alike. Bounded: at most 4,000 windows are compared.
pub fn closest_lines(text: &str, search: &str) -> Option<Closest> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let wanted: Vec<&str> = search.trim_matches('\n').split('\n').collect();
    let size = wanted.len().clamp(1, lines.len().max(1));
    if lines.is_empty() || search.trim().is_empty() {
        return None;
    }
    let needle = wanted.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
    let windows = lines.len().saturating_sub(size) + 1;
    let step = windows.div_ceil(4000).max(1);
    let mut best: Option<(f32, usize)> = None;
    for start in (0..windows).step_by(step) {
        let candidate = lines[start..start + size].iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
        // Character by character for a few lines; by lines for long texts, which is cheaper.
        let ratio = if needle.len() <= 2000 {
            similar::TextDiff::from_chars(needle.as_str(), candidate.as_str()).ratio()
        } else {
            similar::TextDiff::from_lines(needle.as_str(), candidate.as_str()).ratio()
        };
        if best.is_none_or(|(r, _)| ratio > r) {
            best = Some((ratio, start));
        }
    }
    let (ratio, start) = best?;
    (ratio >= 0.5).then(|| Closest {
        start: start + 1,
        end: start + size,
        text: lines[start..start + size].join("\n"),
        ratio,
    })
}
