//! The text-dialect parser against the testkit's corpus of real-looking model output: every
//! call read with the right name and arguments, no call found where there is none, calls of
//! unknown tools reported; and random input never makes it panic.

use atelier_llm::{ToolSpec, parse_text_tool_calls, tools_system_prompt};
use atelier_testkit::{Dialect, corpus_tools, dialect_corpus, dialect_text};
use proptest::prelude::*;
use serde_json::{Value, json};

fn tools() -> Vec<ToolSpec> {
    corpus_tools()
        .into_iter()
        .map(|t| ToolSpec { name: t.name.into(), description: t.description.into(), input_schema: t.schema })
        .collect()
}

#[test]
fn every_call_in_the_corpus_is_read_and_nothing_else_is() {
    let tools = tools();
    let corpus = dialect_corpus();
    assert!(corpus.len() >= 40, "a corpus of at least 40 samples: {}", corpus.len());
    assert!(
        corpus.iter().filter(|s| s.calls.is_empty() && s.malformed == 0).count() >= 10,
        "negative samples"
    );
    let mut failures = Vec::new();
    for sample in &corpus {
        let parsed = parse_text_tool_calls(&sample.text, &tools);
        let got: Vec<(String, Value)> =
            parsed.calls.iter().map(|c| (c.name.clone(), c.arguments.clone())).collect();
        if got != sample.calls || parsed.malformed.len() != sample.malformed {
            failures.push(format!(
                "{}:\n  text: {:?}\n  want {:?} ({} malformed)\n  got  {:?} {:?}",
                sample.label, sample.text, sample.calls, sample.malformed, got, parsed.malformed
            ));
        }
        // What is left is the prose: no call syntax survives a successful read (a model's
        // thinking is kept as it was).
        if !sample.calls.is_empty() && !sample.text.contains("<think>") {
            for marker in ["<tool_call>", "[TOOL_CALLS]", "<|python_tag|>", "tool▁call", "<function="] {
                assert!(
                    !parsed.text.contains(marker),
                    "{}: `{marker}` left in {:?}",
                    sample.label,
                    parsed.text
                );
            }
        }
        if sample.calls.is_empty() && sample.malformed == 0 {
            assert_eq!(parsed.text, sample.text, "{}: a reply without calls is left as it is", sample.label);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} samples misread:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

#[test]
fn prose_around_calls_is_kept() {
    let call = dialect_text(Dialect::MistralArgs, "list_files", &json!({ "path": "src" }));
    let parsed = parse_text_tool_calls(&format!("Looking around.\n\n{call}\n\nBack soon."), &tools());
    assert_eq!(parsed.calls.len(), 1);
    assert_eq!(parsed.text, "Looking around.\n\nBack soon.");
}

#[test]
fn malformed_blocks_say_why() {
    let tools = tools();
    let parsed =
        parse_text_tool_calls("<tool_call>{\"name\": \"search_web\", \"arguments\": {}}</tool_call>", &tools);
    assert!(parsed.calls.is_empty());
    assert!(parsed.malformed[0].contains("unknown tool `search_web`"), "{:?}", parsed.malformed);
    assert!(parsed.malformed[0].contains("read_file"), "the known tools are named: {:?}", parsed.malformed);
    let parsed =
        parse_text_tool_calls("<tool_call>{\"name\": \"read_file\", \"arguments\": 7}</tool_call>", &tools);
    assert!(parsed.malformed[0].contains("arguments of `read_file`"), "{:?}", parsed.malformed);
    assert_eq!(parsed.text, "", "the broken block is cut from the text");
}

#[test]
fn every_dialect_round_trips_each_corpus_tool() {
    let tools = tools();
    let args = json!({ "path": "a b/ç.rs", "start_line": 7 });
    for dialect in Dialect::ALL {
        for tool in &tools {
            let text = dialect_text(dialect, &tool.name, &args);
            let parsed = parse_text_tool_calls(&text, &tools);
            assert_eq!(parsed.calls.len(), 1, "{dialect:?} {}: {text}", tool.name);
            assert_eq!(parsed.calls[0].name, tool.name, "{dialect:?}");
            // Qwen3-Coder's values are typed by the tool's schema; the others are JSON.
            if dialect != Dialect::Qwen3Coder || tool.name == "read_file" {
                assert_eq!(parsed.calls[0].arguments, args, "{dialect:?} {}", tool.name);
            }
        }
    }
}

#[test]
fn the_prompt_teaches_the_format_the_parser_reads() {
    let tools = tools();
    let prompt = tools_system_prompt(&tools);
    for tool in &tools {
        assert!(prompt.contains(&format!("## {}", tool.name)), "{prompt}");
    }
    assert!(prompt.contains("- path (string, required): Path relative to the project root"), "{prompt}");
    // The example in the prompt is itself a call the parser reads.
    let example_start = prompt.find("Example:\n").expect("an example") + "Example:\n".len();
    let example = &prompt[example_start..];
    let example = &example[..example.find("</tool_call>").expect("closed") + "</tool_call>".len()];
    let parsed = parse_text_tool_calls(example, &tools);
    assert_eq!(parsed.calls.len(), 1, "{example}");
    assert_eq!(parsed.calls[0].arguments, json!({ "path": "..." }));
    assert!(prompt.len() < 2_500, "short enough for a small model's context: {} chars", prompt.len());
}

/// Pieces that real replies are made of, so random strings hit the parser's paths.
const FRAGMENTS: &[&str] = &[
    "<tool_call>",
    "</tool_call>",
    "<function=",
    "read_file",
    "</function>",
    "<parameter=",
    "path",
    ">",
    "</parameter>",
    "<|python_tag|>",
    "<|eom_id|>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "[CALL_ID]",
    "<｜tool▁calls▁begin｜>",
    "<｜tool▁call▁begin｜>",
    "<｜tool▁sep｜>",
    "<｜tool▁call▁end｜>",
    "```json\n",
    "```",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    ":",
    ",",
    "\\",
    "\n",
    " ",
    "name",
    "arguments",
    "parameters",
    "{\"name\": \"read_file\", \"arguments\": {",
    "<think>",
    "</think>",
    "é",
    "✓",
    "\u{0}",
    "(",
    ")",
    "=",
    "True",
    "list_files",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_mix_of_call_syntax_is_read_without_panicking(picks in prop::collection::vec(0..FRAGMENTS.len(), 0..40)) {
        let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
        let parsed = parse_text_tool_calls(&text, &tools());
        for call in &parsed.calls {
            prop_assert!(tools().iter().any(|t| t.name == call.name), "only known tools: {}", call.name);
        }
        prop_assert!(parsed.text.len() <= text.len() + 1);
    }

    #[test]
    fn any_string_is_read_without_panicking(text in "\\PC{0,300}") {
        let parsed = parse_text_tool_calls(&text, &tools());
        prop_assert!(parsed.calls.iter().all(|c| c.arguments.is_object()));
    }
}
