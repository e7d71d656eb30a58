//! Cutting a file into chunks, the units search returns: aligned to definitions (a function, a
//! class) of at most [`MAX_LINES`] lines; a longer definition is cut at its inner definitions,
//! or else into windows; small neighbours are merged; text outside definitions, and files
//! without a grammar, go by lines.

use crate::parse::Definition;

/// The most lines in one chunk.
pub const MAX_LINES: u32 = 80;
/// Neighbouring pieces are merged while the result stays this short: a lone three-line
/// struct or an import block is a poor search result on its own.
const MERGE_LINES: u32 = 40;
/// Files without definitions are cut into windows of this many lines.
const TEXT_LINES: u32 = 50;

/// Lines are 1-based and inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub start_line: u32,
    pub end_line: u32,
    /// The definition the chunk is (or is part of), if any.
    pub symbol: Option<String>,
    pub kind: Option<String>,
    /// Every definition that starts in the chunk.
    pub symbols: Vec<String>,
}

#[derive(Debug, Clone)]
struct Piece {
    start: u32,
    end: u32,
    label: Option<(String, String)>,
    /// A whole definition (not a gap or a window of one).
    whole: bool,
}

/// The chunks of a file of `line_count` lines with `definitions` (any order). `lines` tells
/// which lines are blank, so that windows of nothing but blank lines are left out.
pub fn chunk(lines: &[&str], definitions: &[Definition]) -> Vec<Chunk> {
    let line_count = lines.len() as u32;
    if line_count == 0 {
        return Vec::new();
    }
    let mut defs: Vec<&Definition> =
        definitions.iter().filter(|d| d.start_line >= 1 && d.start_line <= d.end_line).collect();
    defs.sort_by_key(|d| (d.start_line, std::cmp::Reverse(d.end_line)));
    let mut pieces = Vec::new();
    let window = if defs.is_empty() { TEXT_LINES } else { MAX_LINES };
    split(1, line_count, &defs, None, window, &mut pieces);
    let blank =
        |p: &Piece| (p.start..=p.end).all(|l| lines.get(l as usize - 1).is_none_or(|t| t.trim().is_empty()));
    pieces.retain(|p| !blank(p));
    let merged = merge(pieces);
    merged
        .into_iter()
        .map(|p| {
            let symbols = defs
                .iter()
                .filter(|d| d.start_line >= p.start && d.start_line <= p.end)
                .map(|d| d.name.clone())
                .collect();
            let (symbol, kind) = p.label.map_or((None, None), |(n, k)| (Some(n), Some(k)));
            Chunk { start_line: p.start, end_line: p.end.min(line_count), symbol, kind, symbols }
        })
        .collect()
}

/// Pieces of lines `start..=end`, whose definitions (sorted, possibly nested) are `defs`.
fn split(
    start: u32,
    end: u32,
    defs: &[&Definition],
    label: Option<&Definition>,
    window: u32,
    out: &mut Vec<Piece>,
) {
    let label_of = |d: Option<&Definition>| d.map(|d| (d.name.clone(), d.kind.clone()));
    let mut cursor = start;
    let mut i = 0;
    while i < defs.len() {
        let def = defs[i];
        // Everything that starts inside this definition belongs to it.
        let inner_end =
            defs[i + 1..].iter().position(|d| d.start_line > def.end_line).map_or(defs.len(), |p| p + i + 1);
        let inner = &defs[i + 1..inner_end];
        i = inner_end;
        if def.start_line < cursor || def.start_line > end {
            continue;
        }
        let def_end = def.end_line.min(end);
        if def.start_line > cursor {
            windows(cursor, def.start_line - 1, label_of(label), window, out);
        }
        if def_end - def.start_line < MAX_LINES {
            out.push(Piece { start: def.start_line, end: def_end, label: label_of(Some(def)), whole: true });
        } else if inner.is_empty() {
            windows(def.start_line, def_end, label_of(Some(def)), MAX_LINES, out);
        } else {
            split(def.start_line, def_end, inner, Some(def), window, out);
        }
        cursor = def_end + 1;
    }
    if cursor <= end {
        windows(cursor, end, label_of(label), window, out);
    }
}

fn windows(start: u32, end: u32, label: Option<(String, String)>, size: u32, out: &mut Vec<Piece>) {
    let mut s = start;
    while s <= end {
        let e = (s + size - 1).min(end);
        out.push(Piece { start: s, end: e, label: label.clone(), whole: false });
        s = e + 1;
    }
}

/// Merges neighbouring pieces while the result stays within [`MERGE_LINES`]; the merged chunk
/// is labelled by its first whole definition.
fn merge(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for piece in pieces {
        if let Some(last) = out.last_mut()
            && piece.end - last.start < MERGE_LINES
            && piece.start <= last.end + 2
        {
            last.end = piece.end;
            if !last.whole && piece.whole && last.label.is_none() {
                last.label = piece.label;
            }
            last.whole = last.whole || piece.whole;
            continue;
        }
        out.push(piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, start: u32, end: u32) -> Definition {
        Definition {
            name: name.into(),
            kind: "function".into(),
            start_line: start,
            end_line: end,
            signature: String::new(),
        }
    }

    #[test]
    fn chunks_follow_definitions_and_split_long_ones() {
        let text = vec!["x"; 400];
        let defs = [def("small", 1, 30), def("mid", 31, 100), def("big", 101, 300), def("inner", 150, 180)];
        let chunks = chunk(&text, &defs);
        assert!(chunks.iter().all(|c| c.end_line - c.start_line < MAX_LINES), "{chunks:?}");
        let small = chunks.iter().find(|c| c.symbol.as_deref() == Some("small")).unwrap();
        assert_eq!((small.start_line, small.end_line), (1, 30));
        let mid = chunks.iter().find(|c| c.symbol.as_deref() == Some("mid")).unwrap();
        assert_eq!((mid.start_line, mid.end_line), (31, 100));
        let inner = chunks.iter().find(|c| c.symbol.as_deref() == Some("inner")).unwrap();
        assert_eq!((inner.start_line, inner.end_line), (150, 180));
        // Every line is in exactly one chunk.
        let covered: u32 = chunks.iter().map(|c| c.end_line - c.start_line + 1).sum();
        assert_eq!(covered, 400);
    }

    #[test]
    fn text_goes_by_lines_and_blank_windows_are_dropped() {
        let mut text = vec!["words"; 120];
        text.extend(vec![""; 60]);
        let chunks = chunk(&text, &[]);
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        assert_eq!((chunks[2].start_line, chunks[2].end_line), (101, 150));
    }
}
