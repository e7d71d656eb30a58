//! What each agent is asked. Prompts are plain text that small local models follow: one job,
//! the exact output shape, and the context that job needs — no more, so it fits the window.

use std::path::Path;

use atelier_llm::{ChatMessage, Role};

use crate::plan::{Plan, PlanFile, PlanModule};

/// At most this much of the project is shown to the master.
const CONTEXT_CHARS: usize = 12_000;
const TREE_ENTRIES: usize = 300;
/// Folders never shown: they are generated or huge.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", "target", "dist", "build", ".venv", "__pycache__"];

fn message(role: Role, content: String) -> ChatMessage {
    ChatMessage::new(role, content)
}

/// The most of one file shown to the master.
const FILE_CHARS: usize = 4_000;

/// The project's files (relative paths, sorted), its README, and the files the request names
/// (or, in a small project, its smallest files), within a budget. Blocking.
pub fn project_context(root: &Path, request: &str) -> String {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if kind.is_file()
                && let Ok(relative) = path.strip_prefix(root)
            {
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    let mut out = String::new();
    if files.is_empty() {
        out.push_str("The project is empty.\n");
    } else {
        out.push_str("Files in the project:\n");
        for file in files.iter().take(TREE_ENTRIES) {
            out.push_str("- ");
            out.push_str(file);
            out.push('\n');
        }
        if files.len() > TREE_ENTRIES {
            out.push_str(&format!("… and {} more files\n", files.len() - TREE_ENTRIES));
        }
    }
    let readme =
        ["README.md", "README", "readme.md"].iter().find_map(|n| std::fs::read_to_string(root.join(n)).ok());
    if let Some(readme) = readme {
        let room = CONTEXT_CHARS.saturating_sub(out.len()).min(FILE_CHARS);
        let excerpt: String = readme.chars().take(room).collect();
        out.push_str("\nREADME:\n");
        out.push_str(&excerpt);
        out.push('\n');
    }
    // The relevant files: those the request names by path or file name; in a small project,
    // also the smallest ones, since they are cheap and often what the change touches.
    let lower = request.to_lowercase();
    let is_readme = |f: &str| f.to_lowercase().starts_with("readme");
    let named = |f: &String| {
        let name = f.rsplit('/').next().unwrap_or(f).to_lowercase();
        lower.contains(&f.to_lowercase()) || (name.contains('.') && lower.contains(&name))
    };
    let mut relevant: Vec<&String> = files.iter().filter(|f| named(f) && !is_readme(f)).collect();
    if files.len() <= 20 {
        let mut small: Vec<(u64, &String)> = files
            .iter()
            .filter(|f| !relevant.contains(f) && !is_readme(f))
            .filter_map(|f| std::fs::metadata(root.join(f)).ok().map(|m| (m.len(), f)))
            .collect();
        small.sort();
        relevant.extend(small.into_iter().map(|(_, f)| f));
    }
    for file in relevant {
        let room = CONTEXT_CHARS.saturating_sub(out.len());
        if room < 200 {
            break;
        }
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        let excerpt: String = text.chars().take(room.min(FILE_CHARS)).collect();
        out.push_str(&format!("\nFile {file}:\n```\n{excerpt}\n```\n"));
    }
    out
}

pub fn master(request: &str, context: &str) -> Vec<ChatMessage> {
    let system = "You are the lead engineer planning a change to a software project. Split the work \
                  into modules, and each module into the files to create or change. Use paths \
                  relative to the project root. Keep the plan as small as the request allows. \
                  Reply with one JSON object and nothing else, in this shape:\n\
                  {\"summary\": \"one line for the commit message\", \"modules\": [{\"name\": \"...\", \
                  \"responsibility\": \"...\", \"files\": [{\"path\": \"src/main.rs\", \"purpose\": \"...\", \
                  \"dependencies\": [\"other/file.rs\"]}]}], \"verify\": \"optional shell command that \
                  checks the result, or null\"}";
    vec![
        message(Role::System, system.to_owned()),
        message(Role::User, format!("{context}\n\nRequest:\n{request}")),
    ]
}

/// The master's look at the project before it plans (with read tools).
pub fn explore(request: &str, context: &str) -> Vec<ChatMessage> {
    let system = "You are the lead engineer about to plan a change to a software project. First look at \
                  the project with the tools: list the files, read the ones the request touches and the \
                  ones they depend on, search for the names involved. Do not write a plan yet and do \
                  not change anything. When you know enough, answer in plain text with short notes: \
                  the files that matter and what they contain, the conventions to follow, and where \
                  the change should go.";
    vec![
        message(Role::System, system.to_owned()),
        message(Role::User, format!("{context}\n\nRequest:\n{request}")),
    ]
}

/// The master's second chance after an invalid plan.
pub fn repair(mut messages: Vec<ChatMessage>, reply: &str, error: &str) -> Vec<ChatMessage> {
    messages.push(message(Role::Assistant, reply.to_owned()));
    messages.push(message(
        Role::User,
        format!("That plan cannot be used: {error}\nReply again with the corrected JSON object only."),
    ));
    messages
}

fn plan_outline(plan: &Plan) -> String {
    let mut out = format!("Plan: {}\n", plan.summary);
    for module in &plan.modules {
        out.push_str(&format!("Module {}: {}\n", module.name, module.responsibility));
        for file in &module.files {
            out.push_str(&format!("  - {}: {}\n", file.path, file.purpose));
        }
    }
    out
}

pub fn manager(request: &str, plan: &Plan, module: &PlanModule) -> Vec<ChatMessage> {
    let system = "You are the engineer responsible for one module of a planned change. For each file \
                  of your module, write a short specification: what it must contain (public functions, \
                  types, their signatures), how it uses the files it depends on, and anything easy to \
                  get wrong. Plain text, one section per file, headed by its path. No code blocks.";
    vec![
        message(Role::System, system.to_owned()),
        message(
            Role::User,
            format!(
                "Request:\n{request}\n\n{}\nYour module: {} — {}",
                plan_outline(plan),
                module.name,
                module.responsibility
            ),
        ),
    ]
}

pub fn coder(
    request: &str,
    plan: &Plan,
    file: &PlanFile,
    spec: &str,
    existing: Option<&str>,
) -> Vec<ChatMessage> {
    let system = "You are a careful programmer writing exactly one file of a planned change. Reply with \
                  the complete content of the file in a single fenced code block, and nothing after it. \
                  Write working code, not placeholders.";
    let mut user = format!(
        "Request:\n{request}\n\n{}\nWrite the file `{}`: {}\n",
        plan_outline(plan),
        file.path,
        file.purpose
    );
    if !file.dependencies.is_empty() {
        user.push_str(&format!("It uses: {}\n", file.dependencies.join(", ")));
    }
    if !spec.trim().is_empty() {
        user.push_str(&format!("\nSpecification from the module's engineer:\n{spec}\n"));
    }
    if let Some(current) = existing {
        // Small files come back whole: a SEARCH/REPLACE block that misses costs more than the
        // file (small models often get one line of the search text wrong).
        let how = if current.lines().count() <= WHOLE_FILE_LINES {
            "Reply with the whole new file."
        } else {
            "Reply with the whole new file, or with SEARCH/REPLACE blocks for the parts that change."
        };
        user.push_str(&format!("\nThe file exists. Its current content:\n```\n{current}\n```\n{how}\n"));
    }
    vec![message(Role::System, system.to_owned()), message(Role::User, user)]
}

/// Existing files up to this many lines are asked for whole, not as edits.
const WHOLE_FILE_LINES: usize = 80;

/// [`coder`] for an agent with read tools: it may look first, then answers with the file.
pub fn coder_with_tools(
    request: &str,
    plan: &Plan,
    file: &PlanFile,
    spec: &str,
    existing: Option<&str>,
) -> Vec<ChatMessage> {
    let mut messages = coder(request, plan, file, spec, existing);
    messages[0].content.push_str(
        " Before you write, you may read the files it uses and other files of the project with the \
         tools (read_file, find_in_files, search_code, list_files) so that names and signatures match. \
         When you write the file, call no tool: your reply is the file.",
    );
    messages
}

/// A coder's second chance after edits that did not apply: the whole file this time.
pub fn whole_file(mut messages: Vec<ChatMessage>, reply: &str, error: &str) -> Vec<ChatMessage> {
    messages.push(message(Role::Assistant, reply.to_owned()));
    messages.push(message(
        Role::User,
        format!(
            "Those edits cannot be applied: {error}\nReply with the complete new file in a single fenced \
             code block instead, no SEARCH/REPLACE blocks."
        ),
    ));
    messages
}

pub fn fix(path: &str, content: &str, command: &str, output: &str) -> Vec<ChatMessage> {
    let system = "You fix one file so that a check passes. Reply with the complete corrected file in a \
                  single fenced code block.";
    let tail: String = output.chars().rev().take(6_000).collect::<String>().chars().rev().collect();
    vec![
        message(Role::System, system.to_owned()),
        message(
            Role::User,
            format!(
                "The check `{command}` failed:\n```\n{tail}\n```\n\nThe file `{path}`:\n```\n{content}\n```"
            ),
        ),
    ]
}
