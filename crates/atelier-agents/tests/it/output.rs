//! Real models' messy output: tables of replies and what must come out of them.

use atelier_agents::edit::{apply_edits, parse_edits};
use atelier_agents::extract::{extract_code, extract_json, strip_reasoning};
use atelier_agents::plan::{Plan, PlanFile, PlanModule, validate};
use serde_json::json;

fn check_json(input: &str, expect: Result<serde_json::Value, &str>) {
    match (extract_json(input), expect) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "input: {input}"),
        (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{got} for {input}"),
        (got, want) => panic!("input {input:?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn json_is_found_in_fences_prose_and_reasoning() {
    check_json(r#"{"a": 1}"#, Ok(json!({"a": 1})));
    check_json("Here is the plan:\n```json\n{\"a\": [1, 2,]}\n```\nLet me know!", Ok(json!({"a": [1, 2]})));
    check_json("<think>I need {braces} here</think>\n{\"a\": \"}{\"}", Ok(json!({"a": "}{"})));
    check_json(
        "Sure! {\"summary\": \"x\", \"modules\": []} Hope that helps {not json}",
        Ok(json!({"summary": "x", "modules": []})),
    );
    check_json("```\n{\"a\": {\"b\": \"c\\\"}\"}}\n```", Ok(json!({"a": {"b": "c\"}"}})));
    check_json("I cannot do that.", Err("no JSON object"));
    check_json("{\"summary\": \"cut off here", Err("cut off"));
}

#[test]
fn reasoning_is_stripped_in_every_shape_models_produce() {
    assert_eq!(strip_reasoning("<think>hmm</think>\nAnswer"), "Answer");
    assert_eq!(strip_reasoning("reasoning first</think>Answer"), "Answer");
    assert_eq!(strip_reasoning("<think>never closed, cut off"), "");
    assert_eq!(strip_reasoning("Use the <think> tag like this."), "Use the <think> tag like this.");
    assert_eq!(strip_reasoning("plain"), "plain");
}

#[test]
fn code_comes_from_the_right_block() {
    let fenced = "Here you go:\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\nThis prints hi.";
    assert_eq!(extract_code(fenced, "src/main.rs").unwrap(), "fn main() {\n    println!(\"hi\");\n}\n");
    let two = "```toml\n[package]\n```\n\n```rust src/lib.rs\npub fn f() {}\n```";
    assert_eq!(extract_code(two, "src/lib.rs").unwrap(), "pub fn f() {}\n");
    assert_eq!(extract_code("<think>x</think>\nprint('bare')\n", "a.py").unwrap(), "print('bare')\n");
    assert_eq!(extract_code("~~~\nunterminated fence\n", "a.txt").unwrap(), "unterminated fence\n");
    assert!(extract_code("```\n\n```", "a.rs").is_err(), "an empty file is not accepted");
}

fn plan(paths: &[&str]) -> Plan {
    Plan {
        summary: "Add things".into(),
        modules: vec![PlanModule {
            name: "core".into(),
            responsibility: "everything".into(),
            files: paths.iter().map(|p| PlanFile { path: (*p).into(), ..PlanFile::default() }).collect(),
        }],
        verify: None,
    }
}

#[test]
fn plans_are_normalised_and_every_escape_is_refused() {
    let ok = validate(&plan(&["./src//main.rs", "src\\lib.rs"])).unwrap();
    let paths: Vec<_> = ok.modules[0].files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["src/main.rs", "src/lib.rs"]);
    for (bad, why) in [
        ("../outside.rs", "leaves the project"),
        ("src/../../x", "leaves the project"),
        ("/etc/passwd", "absolute"),
        ("C:\\Windows\\x", "absolute"),
        (".git/config", ".git"),
        ("a/.git/hooks/pre-commit", ".git"),
        ("", "empty"),
        ("src/", "folder"),
        ("a\0b", "NUL"),
    ] {
        let err = validate(&plan(&[bad])).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    let err = validate(&plan(&["src/Main.rs", "src/main.rs"])).unwrap_err().to_string();
    assert!(err.contains("listed twice"), "{err}");
    assert!(validate(&Plan::default()).unwrap_err().to_string().contains("no modules"));
}

#[test]
fn edits_apply_all_or_nothing() {
    let original = "fn a() {\n    1\n}\n\nfn b() {\n    2\n}\n";
    let reply = "```\n<<<<<<< SEARCH\nfn b() {\n    2\n}\n=======\nfn b() {\n    3\n}\n>>>>>>> REPLACE\n```";
    let edits = parse_edits(reply).unwrap();
    assert_eq!(apply_edits(original, &edits).unwrap(), "fn a() {\n    1\n}\n\nfn b() {\n    3\n}\n");

    let loose = "<<<<<<< SEARCH\n  fn a() {   \n=======\nfn alpha() {\n>>>>>>> REPLACE\r\n";
    assert!(apply_edits(original, &parse_edits(loose).unwrap()).unwrap().starts_with("fn alpha() {"));

    let ambiguous = "<<<<<<< SEARCH\n}\n=======\n};\n>>>>>>> REPLACE";
    assert!(
        apply_edits(original, &parse_edits(ambiguous).unwrap())
            .unwrap_err()
            .to_string()
            .contains("matches 2 places")
    );

    let second_missing = "<<<<<<< SEARCH\nfn a() {\n=======\nfn z() {\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nnope\n=======\nx\n>>>>>>> REPLACE";
    let err = apply_edits(original, &parse_edits(second_missing).unwrap()).unwrap_err().to_string();
    assert!(err.contains("block 2") && err.contains("not found"), "{err}");
    assert!(parse_edits("no blocks here").is_err());
}

#[test]
fn reviewed_edge_cases_of_model_output() {
    // Think tags inside code are content.
    assert_eq!(extract_code("```python\nprint('<think>')\n```", "a.py").unwrap(), "print('<think>')\n");
    assert_eq!(strip_reasoning("<think>plan</think>\n```html\n</think>\n```"), "```html\n</think>\n```");
    // Paths models write in odd ways.
    for (bad, why) in [(".GIT/config", ".git"), (".git./x", ".git"), ("~/x.rs", "~"), ("a\u{7}b", "control")]
    {
        let err = validate(&plan(&[bad])).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    assert_eq!(validate(&plan(&["`src/a.rs`"])).unwrap().modules[0].files[0].path, "src/a.rs");
    // Files as bare strings, dependencies as one string.
    let p: Plan =
        serde_json::from_value(json!({"summary": "s", "modules": [{"name": "m", "responsibility": "r",
        "files": ["a.rs", {"path": "b.rs", "purpose": "b", "deps": "a.rs"}]}]}))
        .unwrap();
    assert_eq!(p.modules[0].files[0].path, "a.rs");
    assert_eq!(p.modules[0].files[1].dependencies, vec!["a.rs".to_owned()]);
    // Deleting lines leaves no blank line; CRLF files stay CRLF; a quoted marker is content.
    let del = parse_edits("<<<<<<< SEARCH\nb\n=======\n>>>>>>> REPLACE").unwrap();
    assert_eq!(apply_edits("a\nb\nc\n", &del).unwrap(), "a\nc\n");
    let crlf = parse_edits("<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE").unwrap();
    assert_eq!(apply_edits("a\r\nb\r\nc\r\n", &crlf).unwrap(), "a\r\nB\r\nc\r\n");
    let quoted = parse_edits("<<<<<<< SEARCH\nb\n=======\n>>>>>>> not the end\nB\n>>>>>>> REPLACE").unwrap();
    assert_eq!(quoted[0].replace, ">>>>>>> not the end\nB");
}

#[test]
fn the_master_sees_the_tree_the_readme_and_the_files_the_request_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::fs::write(root.join("README.md"), "# Tool\nA tool.").unwrap();
    std::fs::write(root.join("src/parser.rs"), "pub fn parse() {}").unwrap();
    std::fs::write(root.join("target/debug/junk"), "binary junk").unwrap();
    let context = atelier_agents::workflow::project_context(root, "Fix the bug in parser.rs");
    assert!(context.contains("- src/parser.rs"), "{context}");
    assert!(context.contains("README:\n# Tool"), "{context}");
    assert!(context.contains("File src/parser.rs:\n```\npub fn parse() {}"), "{context}");
    assert!(!context.contains("junk"), "build output is not shown: {context}");
}
