//! Reading a file with tree-sitter: its definitions (name, kind, lines, first line) from the
//! language's definition query, and the names it uses (identifier-shaped words, counted), which link
//! files to each other in the repo map.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, ParseState, Parser, QueryCursor, StreamingIterator};

use crate::lang::Lang;

/// A parse taking longer than this gives up; the file is then indexed by lines.
const PARSE_LIMIT: Duration = Duration::from_secs(2);
/// The longest first line kept for a definition (the repo map shows it).
const SIGNATURE_CHARS: usize = 160;

/// One definition: lines are 1-based and inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
    /// The definition's first line, trimmed and cut to 160 characters.
    pub signature: String,
}

/// What a file defines and which names it uses.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub definitions: Vec<Definition>,
    /// Each name the file uses (outside its own definitions' names) and how often.
    pub references: HashMap<String, u32>,
}

/// The names a file uses and how often: every identifier-shaped word of its text (letters,
/// digits and `_`, not starting with a digit, 2 to 100 bytes) except its definitions' own
/// names. Read from the text rather than the tree's identifier leaves: walking every node of
/// the tree cost as much as a quarter of a first index, and the difference — words in comments
/// and strings, keywords — only adds edges where a comment names a definition (a use worth
/// counting) or where a keyword is also a definition's name (rare, and weighed down as common).
fn uses(text: &str, definition_names: &HashSet<(usize, usize)>) -> HashMap<String, u32> {
    let mut references: HashMap<String, u32> = HashMap::new();
    let mut start: Option<usize> = None;
    let mut count = |from: usize, to: usize| {
        let name = &text[from..to];
        if name.len() < 2 || name.len() > 100 || name.starts_with(|c: char| c.is_ascii_digit()) {
            return;
        }
        if definition_names.contains(&(from, to)) {
            return;
        }
        // Most names are seen before: counted without a new String.
        match references.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                references.insert(name.to_owned(), 1);
            }
        }
    };
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(from)) => {
                count(from, i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        count(from, text.len());
    }
    references
}

/// Kinds that hold methods: a function inside one of these is a method.
const CONTAINERS: &[&str] = &["class", "struct", "impl", "trait", "interface", "enum"];

/// Parses `text` as `lang`. `None` when the grammar gives up (too slow) or the query is
/// broken: the caller then indexes the file by lines. A file with syntax errors still parses;
/// tree-sitter recovers and the definitions it finds are kept.
pub fn parse(lang: Lang, text: &str) -> Option<Parsed> {
    let query = match lang.query() {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!("{e}");
            return None;
        }
    };
    let started = Instant::now();
    let mut give_up = |_: &ParseState| started.elapsed() > PARSE_LIMIT;
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut parser = Parser::new();
    parser.set_language(&lang.grammar()).ok()?;
    let tree = parser.parse_with_options(
        &mut |i, _| if i < len { &bytes[i..] } else { &[] },
        None,
        Some(ParseOptions::new().progress_callback(&mut give_up)),
    )?;
    let root = tree.root_node();

    let name_index = query.capture_index_for_name("name");
    // The same node may match several patterns (a Go struct is also a type): the first
    // pattern, the most specific, wins.
    let mut found: HashMap<(usize, usize), (usize, Definition)> = HashMap::new();
    let mut name_ranges: HashSet<(usize, usize)> = HashSet::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, root, bytes);
    while let Some(m) = matches.next() {
        let mut name = None;
        let mut def = None;
        for capture in m.captures {
            if Some(capture.index) == name_index {
                name = Some(capture.node);
            } else if let Some(kind) =
                query.capture_names()[capture.index as usize].strip_prefix("definition.")
            {
                def = Some((capture.node, kind));
            }
        }
        let (Some(name), Some((node, kind))) = (name, def) else { continue };
        let Ok(name_text) = name.utf8_text(bytes) else { continue };
        let name_text = name_text.trim();
        if name_text.is_empty() {
            continue;
        }
        name_ranges.insert((name.start_byte(), name.end_byte()));
        let key = (node.start_byte(), node.end_byte());
        if found.get(&key).is_some_and(|(pattern, _)| *pattern <= m.pattern_index) {
            continue;
        }
        let first_line = text[node.start_byte()..].lines().next().unwrap_or_default().trim();
        let definition = Definition {
            name: name_text.to_owned(),
            kind: kind.to_owned(),
            start_line: node.start_position().row as u32 + 1,
            end_line: node.end_position().row as u32 + 1,
            signature: first_line.chars().take(SIGNATURE_CHARS).collect(),
        };
        found.insert(key, (m.pattern_index, definition));
    }
    let mut spans: Vec<((usize, usize), Definition)> = found.into_iter().map(|(k, (_, d))| (k, d)).collect();
    spans.sort_by_key(|((start, end), _)| (*start, std::cmp::Reverse(*end)));
    // A function inside a class-like definition is a method.
    let containers: Vec<(usize, usize)> =
        spans.iter().filter(|(_, d)| CONTAINERS.contains(&d.kind.as_str())).map(|(k, _)| *k).collect();
    let mut definitions = Vec::with_capacity(spans.len());
    for ((start, end), mut def) in spans {
        if def.kind == "function"
            && containers.iter().any(|(s, e)| *s <= start && end <= *e && (*s, *e) != (start, end))
        {
            def.kind = "method".into();
        }
        definitions.push(def);
    }

    let references = uses(text, &name_ranges);
    Some(Parsed { definitions, references })
}
