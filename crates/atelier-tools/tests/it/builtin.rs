//! The built-in tools as a model uses them: real files in a temporary project, messy arguments,
//! paths that try to leave, and failures that tell the model what to do.

use atelier_tools::{CallStatus, Registry, ToolContext, ToolOutput};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn project() -> (tempfile::TempDir, ToolContext) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {\n    println!(\"hello\");\n}\n").unwrap();
    std::fs::write(
        root.join("src/config.rs"),
        "pub fn parse_config(text: &str) -> Config {\n    todo!()\n}\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join("target/junk.rs"), "parse_config parse_config").unwrap();
    let ctx = ToolContext {
        runner: crate::runner(&root),
        root,
        cancel: CancellationToken::new(),
        max_result_chars: 8000,
    };
    (dir, ctx)
}

async fn call(ctx: &ToolContext, name: &str, args: Value) -> ToolOutput {
    let tool = Registry::with_builtins().get(name).unwrap_or_else(|| panic!("no tool {name}"));
    tool.call(ctx, args, &mut |_| {}).await.expect("the tool runs")
}

#[test]
fn the_registry_lists_the_builtin_tools_with_their_effects() {
    let list = Registry::with_builtins().list();
    let names: Vec<(&str, &str)> = list.iter().map(|t| (t.name.as_str(), t.effect.as_str())).collect();
    for expected in [
        ("list_files", "read"),
        ("read_file", "read"),
        ("find_in_files", "read"),
        ("search_code", "read"),
        ("write_file", "write"),
        ("edit_file", "write"),
        ("run_command", "run"),
    ] {
        assert!(names.contains(&expected), "{expected:?} in {names:?}");
    }
    assert!(list.iter().all(|t| t.source == "builtin" && t.input_schema["type"] == "object"));
}

#[tokio::test]
async fn list_and_read_show_the_project_without_ignored_files_and_in_pages() {
    let (_dir, ctx) = project();
    let listed = call(&ctx, "list_files", json!({})).await;
    assert_eq!(listed.status, CallStatus::Ok);
    assert!(listed.content.contains("src/main.rs") && listed.content.contains("src/"), "{}", listed.content);
    assert!(!listed.content.contains("junk.rs"), "ignored files are not listed: {}", listed.content);

    let read = call(&ctx, "read_file", json!({ "path": "src/main.rs" })).await;
    assert!(read.content.contains("println!(\"hello\")"), "{}", read.content);
    let long: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(ctx.root.join("long.txt"), long).unwrap();
    let page = call(&ctx, "read_file", json!({ "path": "long.txt" })).await;
    assert!(
        page.content.contains("lines 1-400 of 1000") && page.content.contains("start_line 401"),
        "{}",
        page.content
    );
    // Numbers as strings, as small models write them.
    let part =
        call(&ctx, "read_file", json!({ "path": "long.txt", "start_line": "998", "end_line": 1000 })).await;
    assert!(part.content.contains("line 998\nline 999\nline 1000"), "{}", part.content);
    let past = call(&ctx, "read_file", json!({ "path": "long.txt", "start_line": 5000 })).await;
    assert_eq!(past.status, CallStatus::Error);
    assert!(past.content.contains("1000 lines"), "{}", past.content);
}

#[tokio::test]
async fn paths_outside_the_project_are_refused_with_a_reason() {
    let (dir, ctx) = project();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    for (tool, args) in [
        ("read_file", json!({ "path": "../secret.txt" })),
        ("read_file", json!({ "path": "/etc/passwd" })),
        ("write_file", json!({ "path": "../escape.txt", "content": "x" })),
        ("edit_file", json!({ "path": "../secret.txt", "search": "outside", "replace": "in" })),
        ("list_files", json!({ "path": "../" })),
        ("read_file", json!({ "path": ".git/config" })),
    ] {
        let output = call(&ctx, tool, args.clone()).await;
        assert_eq!(output.status, CallStatus::Error, "{tool} {args}: {}", output.content);
        assert!(output.content.contains("not allowed"), "{tool} {args}: {}", output.content);
    }
    assert!(!dir.path().join("escape.txt").exists());
    assert_eq!(std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(), "outside");
}

#[tokio::test]
async fn missing_or_wrong_arguments_say_which() {
    let (_dir, ctx) = project();
    let output = call(&ctx, "read_file", json!({})).await;
    assert_eq!(output.status, CallStatus::Error);
    assert!(output.content.contains("`path` is missing"), "{}", output.content);
    let output = call(&ctx, "read_file", json!({ "path": "src/main.rs", "start_line": "ten" })).await;
    assert!(output.content.contains("start_line"), "{}", output.content);
    let output = call(&ctx, "find_in_files", json!({ "pattern": "(unclosed", "regex": "true" })).await;
    assert_eq!(output.status, CallStatus::Error);
    assert!(output.content.contains("does not compile"), "{}", output.content);
}

#[tokio::test]
async fn find_and_search_code_honour_gitignore_and_rank_by_words() {
    let (_dir, ctx) = project();
    let found = call(&ctx, "find_in_files", json!({ "pattern": "parse_config" })).await;
    assert_eq!(found.content.trim(), "src/config.rs:1: pub fn parse_config(text: &str) -> Config {");
    let by_glob = call(&ctx, "find_in_files", json!({ "pattern": "fn", "glob": "src/main.rs" })).await;
    assert!(
        by_glob.content.starts_with("src/main.rs:1:") && !by_glob.content.contains("config.rs"),
        "{}",
        by_glob.content
    );
    let regex = call(&ctx, "find_in_files", json!({ "pattern": "print(ln)?!", "regex": true })).await;
    assert!(regex.content.contains("src/main.rs:2:"), "{}", regex.content);
    let none = call(&ctx, "find_in_files", json!({ "pattern": "nothing-like-this" })).await;
    assert!(none.content.starts_with("No line contains"), "{}", none.content);

    let ranked = call(&ctx, "search_code", json!({ "query": "parse the config" })).await;
    let first = ranked.content.lines().next().unwrap_or_default();
    assert!(first.starts_with("src/config.rs"), "the file with both words first: {}", ranked.content);
}

#[tokio::test]
async fn write_and_edit_change_files_and_a_failed_edit_shows_the_closest_lines() {
    let (_dir, ctx) = project();
    let written =
        call(&ctx, "write_file", json!({ "path": "./src/new.rs", "content": "pub const A: u8 = 1;\n" }))
            .await;
    assert_eq!(written.status, CallStatus::Ok);
    assert_eq!(written.changed, vec!["src/new.rs"]);
    assert!(written.content.starts_with("created"), "{}", written.content);
    assert_eq!(std::fs::read_to_string(ctx.root.join("src/new.rs")).unwrap(), "pub const A: u8 = 1;\n");

    let edited = call(
        &ctx,
        "edit_file",
        json!({ "path": "src/main.rs", "search": "    println!(\"hello\");", "replace": "    println!(\"hi\");" }),
    )
    .await;
    assert_eq!(edited.status, CallStatus::Ok, "{}", edited.content);
    assert!(std::fs::read_to_string(ctx.root.join("src/main.rs")).unwrap().contains("println!(\"hi\")"));

    // A near miss (the wrong quotes, as models write them): nothing changes, the lines are shown.
    let missed = call(
        &ctx,
        "edit_file",
        json!({ "path": "src/main.rs", "search": "println!('hi');", "replace": "x" }),
    )
    .await;
    assert_eq!(missed.status, CallStatus::Error);
    assert!(missed.content.contains("closest lines are 2-2"), "{}", missed.content);
    assert!(missed.content.contains("println!(\"hi\");"), "{}", missed.content);
    assert!(std::fs::read_to_string(ctx.root.join("src/main.rs")).unwrap().contains("println!(\"hi\")"));
}
