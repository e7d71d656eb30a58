//! The languages whose definitions are read with tree-sitter: which files are which, their
//! official grammar, and our definition query for each (`queries/*.scm`).

use std::sync::OnceLock;

use tree_sitter::{Language, Query};

/// A language with a grammar. Files of any other kind are indexed by lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Bash,
}

pub const ALL: [Lang; 12] = [
    Lang::Rust,
    Lang::Python,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Tsx,
    Lang::Go,
    Lang::Java,
    Lang::C,
    Lang::Cpp,
    Lang::CSharp,
    Lang::Ruby,
    Lang::Bash,
];

impl Lang {
    /// The language of a path, by its extension (or, for shell scripts, its name).
    pub fn of_path(path: &str) -> Option<Lang> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        Some(match ext.as_str() {
            "rs" => Lang::Rust,
            "py" | "pyi" | "pyw" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "c" | "h" => Lang::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" => Lang::Cpp,
            "cs" => Lang::CSharp,
            "rb" | "rake" | "gemspec" => Lang::Ruby,
            "sh" | "bash" | "zsh" => Lang::Bash,
            _ => return None,
        })
    }

    /// The name stored in the index and shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::CSharp => "csharp",
            Lang::Ruby => "ruby",
            Lang::Bash => "bash",
        }
    }

    pub fn grammar(self) -> Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Lang::Bash => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    fn query_source(self) -> &'static str {
        match self {
            Lang::Rust => include_str!("../queries/rust.scm"),
            Lang::Python => include_str!("../queries/python.scm"),
            Lang::JavaScript => include_str!("../queries/javascript.scm"),
            Lang::TypeScript | Lang::Tsx => include_str!("../queries/typescript.scm"),
            Lang::Go => include_str!("../queries/go.scm"),
            Lang::Java => include_str!("../queries/java.scm"),
            Lang::C => include_str!("../queries/c.scm"),
            Lang::Cpp => include_str!("../queries/cpp.scm"),
            Lang::CSharp => include_str!("../queries/csharp.scm"),
            Lang::Ruby => include_str!("../queries/ruby.scm"),
            Lang::Bash => include_str!("../queries/bash.scm"),
        }
    }

    fn index(self) -> usize {
        ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// The compiled definition query, built once per process. An error names the language and
    /// the query's fault; a test compiles every one, so it cannot reach a person.
    pub fn query(self) -> Result<&'static Query, String> {
        static QUERIES: OnceLock<Vec<Result<Query, String>>> = OnceLock::new();
        let all = QUERIES.get_or_init(|| {
            ALL.iter()
                .map(|lang| {
                    Query::new(&lang.grammar(), lang.query_source())
                        .map_err(|e| format!("the {} definition query does not compile: {e}", lang.name()))
                })
                .collect()
        });
        match all.get(self.index()) {
            Some(Ok(query)) => Ok(query),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("no query for {}", self.name())),
        }
    }
}
