//! Words for the full-text index: identifiers split into their parts (`chooseNumCtx`,
//! `choose_num_ctx` and "choose num ctx" find each other), and any text a person types turned
//! into an FTS5 query that cannot be a syntax error.

use std::collections::{BTreeSet, HashSet};

/// At most this many words of a query are searched for; the rest of a pasted page is noise.
const MAX_QUERY_WORDS: usize = 24;

/// Words too common to say anything about code.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "if",
    "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "we", "what", "when",
    "where", "which", "who", "why", "with", "you", "there", "their", "them", "they", "get", "gets", "into",
];

/// The parts of an identifier, lower case: `chooseNumCtx` and `choose_num_ctx` both give
/// `choose`, `num`, `ctx`; `HTTPServer` gives `http`, `server`. Digits stay with their letters.
pub fn split_identifier(word: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in word.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut current = String::new();
        for (i, c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = c.is_uppercase()
                && prev.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                });
            if boundary && !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            current.extend(c.to_lowercase());
        }
        if !current.is_empty() {
            parts.push(current);
        }
    }
    parts
}

/// The identifier-like words of a text (letters, digits and `_`, starting with a letter).
fn identifiers(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() > 2 && w.chars().next().is_some_and(char::is_alphabetic))
}

/// What the index's `words` column holds for a chunk: each compound identifier's other
/// spellings. `chooseNumCtx` adds "choose num ctx" (the body's tokenizer keeps it whole);
/// `choose_num_ctx` adds "choosenumctx" (the tokenizer already splits it at `_`).
pub fn alternate_spellings(text: &str) -> String {
    let mut seen = BTreeSet::new();
    let mut done: HashSet<&str> = HashSet::new();
    for word in identifiers(text) {
        // Only compound words have other spellings: a plain lower-case word (most of them) is
        // passed over without being split, and each word is split once.
        let compound = word.contains('_') || word.chars().skip(1).any(char::is_uppercase);
        if !compound || !done.insert(word) {
            continue;
        }
        let parts = split_identifier(word);
        if parts.len() < 2 {
            continue;
        }
        if word.contains('_') {
            seen.insert(parts.concat());
        }
        if word.chars().any(char::is_uppercase) && word.chars().any(char::is_lowercase) {
            for part in parts {
                seen.insert(part);
            }
        }
    }
    seen.into_iter().collect::<Vec<_>>().join(" ")
}

/// The words of a query: each word's parts, and for a compound word its parts joined too.
/// Stop words and duplicates are left out; at most [`MAX_QUERY_WORDS`].
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let push = |t: String, terms: &mut Vec<String>| {
        if !t.is_empty() && !STOP_WORDS.contains(&t.as_str()) && !terms.contains(&t) && t.len() <= 64 {
            terms.push(t);
        }
    };
    for word in query.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if terms.len() >= MAX_QUERY_WORDS {
            break;
        }
        let parts = split_identifier(word);
        if parts.len() > 1 {
            push(parts.concat(), &mut terms);
        }
        for part in parts {
            push(part, &mut terms);
        }
    }
    terms.truncate(MAX_QUERY_WORDS);
    terms
}

/// An FTS5 query matching the terms joined by `join` (`" OR "` or `" AND "`), each quoted so
/// that no character a person types (quotes, `*`, `-`, `NEAR`, `:`) is read as query syntax.
/// `None` when nothing is left to search for (only punctuation or stop words).
pub fn fts_query(terms: &[String], join: &str) -> Option<String> {
    let mut quoted: Vec<String> = Vec::new();
    for t in terms {
        let t: String = t.chars().filter(|c| c.is_alphanumeric()).collect();
        let t = format!("\"{t}\"");
        if t.len() > 2 && !quoted.contains(&t) {
            quoted.push(t);
        }
    }
    (!quoted.is_empty()).then(|| quoted.join(join))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_the_same_way_whatever_their_style() {
        assert_eq!(split_identifier("chooseNumCtx"), ["choose", "num", "ctx"]);
        assert_eq!(split_identifier("choose_num_ctx"), ["choose", "num", "ctx"]);
        assert_eq!(split_identifier("ChooseNumCtx"), ["choose", "num", "ctx"]);
        assert_eq!(split_identifier("HTTPServer"), ["http", "server"]);
        assert_eq!(split_identifier("utf8Decode"), ["utf8", "decode"]);
        assert_eq!(split_identifier("CHOOSE_NUM"), ["choose", "num"]);
    }

    #[test]
    fn queries_become_terms_that_meet_either_spelling() {
        assert_eq!(query_terms("chooseNumCtx"), ["choosenumctx", "choose", "num", "ctx"]);
        assert_eq!(query_terms("choose_num_ctx"), ["choosenumctx", "choose", "num", "ctx"]);
        assert_eq!(query_terms("how is the choose num ctx"), ["choose", "num", "ctx"]);
        assert_eq!(
            alternate_spellings("let x = chooseNumCtx(a); choose_num_ctx()"),
            "choose choosenumctx ctx num"
        );
    }

    #[test]
    fn any_text_makes_a_valid_query_or_none() {
        assert_eq!(fts_query(&query_terms("\"*(-:^)"), " OR "), None);
        assert_eq!(fts_query(&query_terms("the of and"), " OR "), None);
        assert_eq!(
            fts_query(&query_terms("a NEAR(b c) \"x"), " OR ").as_deref(),
            Some("\"near\" OR \"b\" OR \"c\" OR \"x\"")
        );
        assert_eq!(
            fts_query(&query_terms("user_cache"), " AND ").as_deref(),
            Some("\"usercache\" AND \"user\" AND \"cache\"")
        );
        let long = "word ".repeat(2_000) + &"other".repeat(2_000);
        assert!(query_terms(&long).len() <= MAX_QUERY_WORDS);
    }
}
