//! The master's plan: modules and their files, validated so that no path leaves the project.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The most files one plan may touch.
pub const MAX_FILES: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub modules: Vec<PlanModule>,
    #[serde(default, alias = "verify_command", alias = "test_command")]
    pub verify: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanModule {
    #[serde(default)]
    pub name: String,
    #[serde(default, alias = "description", alias = "purpose")]
    pub responsibility: String,
    #[serde(default, deserialize_with = "files")]
    pub files: Vec<PlanFile>,
}

/// A file as models write it: an object, or just its path.
#[derive(Deserialize)]
#[serde(untagged)]
enum FileShape {
    Path(String),
    Full(PlanFile),
}

fn files<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PlanFile>, D::Error> {
    let shapes = Vec::<FileShape>::deserialize(d)?;
    Ok(shapes
        .into_iter()
        .map(|shape| match shape {
            FileShape::Path(path) => PlanFile { path, ..PlanFile::default() },
            FileShape::Full(file) => file,
        })
        .collect())
}

/// A list, or one string where a model wrote a single item.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        One(String),
        Many(Vec<String>),
        Nothing(()),
    }
    Ok(match Shape::deserialize(d)? {
        Shape::One(s) if s.trim().is_empty() => Vec::new(),
        Shape::One(s) => vec![s],
        Shape::Many(v) => v,
        Shape::Nothing(()) => Vec::new(),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFile {
    #[serde(alias = "file", alias = "name")]
    pub path: String,
    #[serde(default, alias = "description")]
    pub purpose: String,
    #[serde(default, alias = "deps", alias = "depends_on", deserialize_with = "one_or_many")]
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// The JSON schema sent as Ollama's `format` / OpenAI's `response_format`.
pub fn plan_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "summary": { "type": "string" },
            "modules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "responsibility": { "type": "string" },
                        "files": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "path": { "type": "string" },
                                    "purpose": { "type": "string" },
                                    "dependencies": { "type": "array", "items": { "type": "string" } }
                                },
                                "required": ["path", "purpose"]
                            }
                        }
                    },
                    "required": ["name", "responsibility", "files"]
                }
            },
            "verify": { "type": ["string", "null"] }
        },
        "required": ["summary", "modules"]
    })
}

/// A project-relative path with `/` separators, or why it is not one.
pub fn normalize_path(raw: &str) -> Result<String, String> {
    if raw.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    if raw.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    let path = raw.trim().trim_matches('`').trim().replace('\\', "/");
    if path.starts_with('~') {
        return Err("starts with `~`; paths must be relative to the project".into());
    }
    if path.is_empty() {
        return Err("is empty".into());
    }
    if path.starts_with('/') || (path.len() >= 2 && path.as_bytes()[1] == b':') {
        return Err("is absolute; paths must be relative to the project".into());
    }
    if path.ends_with('/') {
        return Err("names a folder, not a file".into());
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("leaves the project".into()),
            // Case-insensitive filesystems (macOS, Windows) treat `.GIT` and `.git.` as `.git`.
            other if other.trim_end_matches('.').eq_ignore_ascii_case(".git") => {
                return Err("is inside .git".into());
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err("is empty".into());
    }
    Ok(parts.join("/"))
}

/// Checks a plan and returns it normalised; the error is a sentence a model can act on.
pub fn validate(plan: &Plan) -> Result<Plan, PlanError> {
    let mut out = plan.clone();
    out.summary = plan.summary.trim().to_owned();
    if out.summary.is_empty() {
        out.summary = "Apply the requested change".to_owned();
    }
    out.verify = plan.verify.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty() && v != "null");
    if plan.modules.is_empty() {
        return Err(PlanError("the plan has no modules; list at least one module with its files".into()));
    }
    let mut names = std::collections::HashSet::new();
    let mut seen = std::collections::HashMap::new();
    let mut count = 0;
    for module in &mut out.modules {
        module.name = module.name.trim().to_owned();
        if module.name.is_empty() {
            return Err(PlanError("a module has no name".into()));
        }
        if !names.insert(module.name.to_lowercase()) {
            return Err(PlanError(format!(
                "two modules are named `{}`; give each module its own name",
                module.name
            )));
        }
        for file in &mut module.files {
            let normal = normalize_path(&file.path).map_err(|why| {
                PlanError(format!("file `{}` in module `{}` {why}", file.path, module.name))
            })?;
            if let Some(other) = seen.insert(normal.to_lowercase(), module.name.clone()) {
                return Err(PlanError(format!(
                    "file `{normal}` is listed twice (in modules `{other}` and `{}`); list each file once",
                    module.name
                )));
            }
            file.path = normal;
            count += 1;
        }
    }
    if count == 0 {
        return Err(PlanError("the plan lists no files; list the files to create or change".into()));
    }
    if count > MAX_FILES {
        return Err(PlanError(format!("the plan lists {count} files; at most {MAX_FILES} are allowed")));
    }
    out.modules.retain(|m| !m.files.is_empty());
    Ok(out)
}
