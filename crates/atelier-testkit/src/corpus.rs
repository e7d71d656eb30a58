//! A corpus of tool calls as models really print them: every [`Dialect`] with and without
//! prose around it, the broken variants small models write (trailing commas, single quotes,
//! unquoted keys, arguments as a string, missing braces and closing tags, Python literals),
//! two calls in one reply, and replies that hold JSON or tool names but are not calls.

use serde_json::{Value, json};

use crate::{Dialect, dialect_text};

/// A tool the corpus's calls use: name, description, JSON schema of its arguments.
#[derive(Debug, Clone)]
pub struct CorpusTool {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

/// One model reply and what a parser should read from it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// What the sample shows, for messages.
    pub label: String,
    pub text: String,
    /// The calls, in order: tool name and arguments.
    pub calls: Vec<(String, Value)>,
    /// How many blocks should be reported as malformed calls.
    pub malformed: usize,
}

impl Sample {
    fn new(label: &str, text: &str, calls: Vec<(&str, Value)>) -> Sample {
        Sample {
            label: label.to_owned(),
            text: text.to_owned(),
            calls: calls.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
            malformed: 0,
        }
    }

    fn malformed(label: &str, text: &str, malformed: usize) -> Sample {
        Sample { label: label.to_owned(), text: text.to_owned(), calls: Vec::new(), malformed }
    }
}

/// The tools the corpus calls (one with an MCP-style dotted name).
pub fn corpus_tools() -> Vec<CorpusTool> {
    vec![
        CorpusTool {
            name: "read_file",
            description: "Read a text file of the project, optionally a range of lines.",
            schema: json!({ "type": "object", "properties": {
                "path": { "type": "string", "description": "Path relative to the project root" },
                "start_line": { "type": "integer" }, "end_line": { "type": "integer" } },
                "required": ["path"] }),
        },
        CorpusTool {
            name: "list_files",
            description: "List the files under a folder.",
            schema: json!({ "type": "object", "properties": { "path": { "type": "string" } } }),
        },
        CorpusTool {
            name: "run_command",
            description: "Run a shell command in the project folder.",
            schema: json!({ "type": "object", "properties": {
                "command": { "type": "string" }, "timeout_secs": { "type": "integer" },
                "background": { "type": "boolean" } }, "required": ["command"] }),
        },
        CorpusTool {
            name: "write_file",
            description: "Write a whole file.",
            schema: json!({ "type": "object", "properties": {
                "path": { "type": "string" }, "content": { "type": "string" } }, "required": ["path", "content"] }),
        },
        CorpusTool {
            name: "fs.read_file",
            description: "Read a file through the filesystem MCP server.",
            schema: json!({ "type": "object", "properties": { "path": { "type": "string" } }, "required": ["path"] }),
        },
    ]
}

/// The corpus: calls in every dialect (bare and inside prose), messy variants, two-call
/// replies, replies that are not calls, and calls of tools that do not exist.
pub fn dialect_corpus() -> Vec<Sample> {
    let mut samples = Vec::new();
    let calls = [
        ("read_file", json!({ "path": "src/main.rs", "start_line": 10 })),
        ("run_command", json!({ "command": "cargo test -p atelier-llm" })),
        (
            "write_file",
            json!({ "path": "src/lib.rs", "content": "fn main() {\n    println!(\"hi, \\\"you\\\"\");\n}\n" }),
        ),
    ];
    for dialect in Dialect::ALL {
        for (name, args) in &calls {
            let text = dialect_text(dialect, name, args);
            samples.push(Sample::new(&format!("{dialect:?} {name}"), &text, vec![(name, args.clone())]));
        }
        let (name, args) = &calls[0];
        let call = dialect_text(dialect, name, args);
        samples.push(Sample::new(
            &format!("{dialect:?} inside prose"),
            &format!("I'll check the entry point first.\n\n{call}\n\nThen I will summarise what it does."),
            vec![(name, args.clone())],
        ));
    }
    samples.extend(messy());
    samples.extend(negatives());
    samples.extend(malformed());
    samples
}

fn messy() -> Vec<Sample> {
    let read = |path: &str| json!({ "path": path });
    vec![
        Sample::new(
            "Hermes, trailing comma",
            "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"src/main.rs\",}}\n</tool_call>",
            vec![("read_file", read("src/main.rs"))],
        ),
        Sample::new(
            "Hermes, single quotes",
            "<tool_call>{'name': 'read_file', 'arguments': {'path': 'README.md'}}</tool_call>",
            vec![("read_file", read("README.md"))],
        ),
        Sample::new(
            "Hermes, arguments as a JSON string",
            "<tool_call>\n{\"name\": \"run_command\", \"arguments\": \"{\\\"command\\\": \\\"ls -la\\\"}\"}\n</tool_call>",
            vec![("run_command", json!({ "command": "ls -la" }))],
        ),
        Sample::new(
            "Hermes, no closing tag and a missing brace",
            "Sure, let me list them.\n<tool_call>\n{\"name\": \"list_files\", \"arguments\": {\"path\": \"src\"}",
            vec![("list_files", read("src"))],
        ),
        Sample::new(
            "Hermes, two blocks with prose between",
            "First the manifest:\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"Cargo.toml\"}}\n</tool_call>\nand the tree:\n<tool_call>\n{\"name\": \"list_files\", \"arguments\": {\"path\": \".\"}}\n</tool_call>",
            vec![("read_file", read("Cargo.toml")), ("list_files", read("."))],
        ),
        Sample::new(
            "Hermes, two calls in one block",
            "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.rs\"}}\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"b.rs\"}}\n</tool_call>",
            vec![("read_file", read("a.rs")), ("read_file", read("b.rs"))],
        ),
        Sample::new(
            "Hermes, unquoted keys",
            "<tool_call>{name: \"read_file\", arguments: {path: \"Cargo.toml\", start_line: 1}}</tool_call>",
            vec![("read_file", json!({ "path": "Cargo.toml", "start_line": 1 }))],
        ),
        Sample::new(
            "Hermes, JSON fenced inside the tags",
            "<tool_call>\n```json\n{\"name\": \"list_files\", \"arguments\": {\"path\": \"tests\"}}\n```\n</tool_call>",
            vec![("list_files", read("tests"))],
        ),
        Sample::new(
            "Hermes, functions. prefix",
            "<tool_call>{\"name\": \"functions.read_file\", \"arguments\": {\"path\": \"x.py\"}}</tool_call>",
            vec![("read_file", read("x.py"))],
        ),
        Sample::new(
            "Hermes, MCP tool name",
            "<tool_call>\n{\"name\": \"fs.read_file\", \"arguments\": {\"path\": \"notes.md\"}}\n</tool_call>",
            vec![("fs.read_file", read("notes.md"))],
        ),
        Sample::new(
            "Hermes, Python literals",
            "<tool_call>{\"name\": \"run_command\", \"arguments\": {\"command\": \"ls\", \"background\": False}}</tool_call>",
            vec![("run_command", json!({ "command": "ls", "background": false }))],
        ),
        Sample::new(
            "Hermes after thinking about it",
            "<think>I could use <tool_call> with read_file here.</think>\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"src/app.ts\"}}\n</tool_call>",
            vec![("read_file", read("src/app.ts"))],
        ),
        Sample::new(
            "Qwen3-Coder, no closing tool_call, integer parameter",
            "<tool_call>\n<function=read_file>\n<parameter=path>\nsrc/lib.rs\n</parameter>\n<parameter=start_line>\n42\n</parameter>\n</function>",
            vec![("read_file", json!({ "path": "src/lib.rs", "start_line": 42 }))],
        ),
        Sample::new(
            "Qwen3-Coder, bare function tag",
            "Running the tests.\n<function=run_command>\n<parameter=command>\ncargo test\n</parameter>\n</function>",
            vec![("run_command", json!({ "command": "cargo test" }))],
        ),
        Sample::new(
            "Qwen3-Coder, code with < and > in a parameter",
            "<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/cmp.rs\n</parameter>\n<parameter=content>\nfn lt(a: u8, b: u8) -> bool { a < b }\n</parameter>\n</function>\n</tool_call>",
            vec![(
                "write_file",
                json!({ "path": "src/cmp.rs", "content": "fn lt(a: u8, b: u8) -> bool { a < b }" }),
            )],
        ),
        Sample::new(
            "Qwen3-Coder, two functions",
            "<tool_call>\n<function=read_file>\n<parameter=path>\na.rs\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=list_files>\n<parameter=path>\nsrc\n</parameter>\n</function>\n</tool_call>",
            vec![("read_file", read("a.rs")), ("list_files", read("src"))],
        ),
        Sample::new(
            "Llama 3.1, python_tag without an end marker",
            "<|python_tag|>{\"name\": \"list_files\", \"parameters\": {\"path\": \"docs\"}}",
            vec![("list_files", read("docs"))],
        ),
        Sample::new(
            "Llama 3.x, bare JSON in a sentence",
            "To answer that I need the file: {\"name\": \"read_file\", \"parameters\": {\"path\": \"main.go\"}} and then I can explain it.",
            vec![("read_file", read("main.go"))],
        ),
        Sample::new(
            "Llama 3.2, pythonic call in python_tag",
            "<|python_tag|>read_file(path=\"src/lib.rs\", start_line=10)<|eom_id|>",
            vec![("read_file", json!({ "path": "src/lib.rs", "start_line": 10 }))],
        ),
        Sample::new(
            "Llama 3.1, built-in style .call with single quotes",
            "<|python_tag|>run_command.call(command='git status', background=True)",
            vec![("run_command", json!({ "command": "git status", "background": true }))],
        ),
        Sample::new(
            "Llama 3.1, two JSON calls separated by ;",
            "<|python_tag|>{\"name\": \"read_file\", \"parameters\": {\"path\": \"a\"}}; {\"name\": \"read_file\", \"parameters\": {\"path\": \"b\"}}<|eot_id|>",
            vec![("read_file", read("a")), ("read_file", read("b"))],
        ),
        Sample::new(
            "Mistral, array of two calls",
            "[TOOL_CALLS][{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.py\"}}, {\"name\": \"run_command\", \"arguments\": {\"command\": \"pytest -q\"}}]",
            vec![("read_file", read("a.py")), ("run_command", json!({ "command": "pytest -q" }))],
        ),
        Sample::new(
            "Mistral, name with a call id",
            "[TOOL_CALLS]read_file[CALL_ID]a1b2c3d4e[ARGS]{\"path\": \"x.c\"}",
            vec![("read_file", read("x.c"))],
        ),
        Sample::new(
            "Mistral, two calls in the ARGS form",
            "[TOOL_CALLS]read_file[ARGS]{\"path\": \"one.rs\"}[TOOL_CALLS]list_files[ARGS]{\"path\": \"two\"}",
            vec![("read_file", read("one.rs")), ("list_files", read("two"))],
        ),
        Sample::new(
            "Mistral, end-of-sequence token after the call",
            "[TOOL_CALLS] [{\"name\": \"list_files\", \"arguments\": {\"path\": \"lib\"}}]</s>",
            vec![("list_files", read("lib"))],
        ),
        Sample::new(
            "DeepSeek, two calls in one block",
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>read_file\n```json\n{\"path\": \"a.js\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>list_files\n```json\n{\"path\": \"src\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            vec![("read_file", read("a.js")), ("list_files", read("src"))],
        ),
        Sample::new(
            "DeepSeek, markers typed in ASCII",
            "<|tool_calls_begin|><|tool_call_begin|>function<|tool_sep|>read_file\n```json\n{\"path\": \"b.js\"}\n```<|tool_call_end|><|tool_calls_end|>",
            vec![("read_file", read("b.js"))],
        ),
        Sample::new(
            "JSON fence with prose around",
            "I will read the config.\n```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"config.toml\"}}\n```\nAfter that I'll update it.",
            vec![("read_file", read("config.toml"))],
        ),
        Sample::new(
            "JSON fence with an array of two calls",
            "```json\n[{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}, {\"name\": \"list_files\", \"arguments\": {}}]\n```",
            vec![("read_file", read("a")), ("list_files", json!({}))],
        ),
        Sample::new(
            "JSON fence in OpenAI's shape",
            "```json\n{\"type\": \"function\", \"function\": {\"name\": \"read_file\", \"arguments\": \"{\\\"path\\\": \\\"index.html\\\"}\"}}\n```",
            vec![("read_file", read("index.html"))],
        ),
        Sample::new(
            "bare JSON missing its closing brace",
            "{\"name\": \"read_file\", \"arguments\": {\"path\": \"src/main.rs\"}",
            vec![("read_file", read("src/main.rs"))],
        ),
        Sample::new(
            "bare JSON with tool and args keys",
            "{\"tool\": \"run_command\", \"args\": {\"command\": \"npm test\"}}",
            vec![("run_command", json!({ "command": "npm test" }))],
        ),
        Sample::new(
            "Hermes, no closing tag and prose after the JSON",
            "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"go.mod\"}}\nI will wait for the result.",
            vec![("read_file", read("go.mod"))],
        ),
        Sample::new(
            "bare JSON missing its brace, then prose",
            "{\"name\": \"read_file\", \"arguments\": {\"path\": \"a.txt\"}\nNow I wait for it.",
            vec![("read_file", read("a.txt"))],
        ),
        Sample::new(
            "Mistral, single-quoted arguments",
            "[TOOL_CALLS]read_file[ARGS]{'path': 'z.rs'}",
            vec![("read_file", read("z.rs"))],
        ),
        Sample::new(
            "Hermes, name written with dashes and capitals",
            "<tool_call>{\"name\": \"Read-File\", \"arguments\": {\"path\": \"q.rs\"}}</tool_call>",
            vec![("read_file", read("q.rs"))],
        ),
        Sample::new(
            "Hermes after prose that mentions a fence",
            "Wrap code in ``` fences when you show it.\n<tool_call>\n{\"name\": \"list_files\", \"arguments\": {\"path\": \"web\"}}\n</tool_call>",
            vec![("list_files", read("web"))],
        ),
        Sample::new(
            "DeepSeek V3.1, a lone call before a whole block",
            "<｜tool▁call▁begin｜>read_file<｜tool▁sep｜>{\"path\": \"a\"}<｜tool▁call▁end｜>\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>list_files<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            vec![("read_file", read("a")), ("list_files", json!({}))],
        ),
        Sample::new(
            "Granite, tool_call marker and an array",
            "<|tool_call|>[{\"name\": \"list_files\", \"arguments\": {\"path\": \".\"}}]",
            vec![("list_files", read("."))],
        ),
    ]
}

fn negatives() -> Vec<Sample> {
    let none = |label: &str, text: &str| Sample::new(label, text, Vec::new());
    vec![
        none("JSON about a person", "Here is the user object: {\"name\": \"Ada Lovelace\", \"age\": 36}"),
        none(
            "a tool's description echoed",
            "The tool {\"name\": \"read_file\", \"description\": \"Reads a file\", \"parameters\": {\"type\": \"object\"}} reads files.",
        ),
        none(
            "Rust code that builds a call",
            "```rust\nlet call = json!({\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}});\n```",
        ),
        none("a plain answer", "The function returns the sum of both numbers; nothing else changes."),
        none(
            "a package.json in a fence",
            "```json\n{\"name\": \"my-app\", \"version\": \"1.0.0\", \"scripts\": {\"build\": \"vite build\"}}\n```",
        ),
        none(
            "a tool named in prose",
            "To read a file I would call read_file with its path, but I already know it.",
        ),
        none(
            "a call only thought about",
            "<think><tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}</tool_call></think>The file is small; no need to read it.",
        ),
        none("a manifest named like a tool", "{\"name\": \"list_files\", \"version\": \"2.0\"}"),
        none(
            "a JSON schema",
            "The arguments follow {\"type\": \"object\", \"properties\": {\"path\": {\"type\": \"string\"}}}.",
        ),
        none("square brackets in prose", "Use [TOOL] placeholders and [1, 2, 3] lists as you like."),
        none(
            "Python that calls a function",
            "```python\ncontent = read_file(path=\"x.txt\")\nprint(content)\n```",
        ),
        none("an array of numbers", "[1, 2, 3]"),
        none(
            "an example call of another API in a fence",
            "Their API is called like this:\n```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```",
        ),
        none("a tool name in inline code", "Run `read_file` with `{\"path\": \"x\"}` to see it."),
    ]
}

fn malformed() -> Vec<Sample> {
    vec![
        Sample::malformed(
            "an unknown tool in tags",
            "<tool_call>{\"name\": \"search_web\", \"arguments\": {\"q\": \"rust\"}}</tool_call>",
            1,
        ),
        Sample::malformed(
            "arguments that are a list",
            "<tool_call>{\"name\": \"read_file\", \"arguments\": [1, 2]}</tool_call>",
            1,
        ),
        Sample::malformed("an unknown tool after TOOL_CALLS", "[TOOL_CALLS]delete_everything[ARGS]{}", 1),
        Sample::malformed("tags around prose", "<tool_call>I want to read the file</tool_call>", 1),
    ]
}
