//! The text-dialect parser on the testkit's corpus: how many samples are read exactly (right
//! calls with the right arguments, the right number of malformed blocks, no call where there
//! is none), and how long one parse takes.

use std::time::{Duration, Instant};

use atelier_llm::{ToolSpec, parse_text_tool_calls};
use atelier_testkit::{corpus_tools, dialect_corpus};
use serde_json::Value;

use crate::stats::summarize;

/// Parses of the whole corpus timed (after one that checks the results).
const ROUNDS: usize = 200;

pub async fn run() -> anyhow::Result<()> {
    println!("== dialects");
    let tools: Vec<ToolSpec> = corpus_tools()
        .into_iter()
        .map(|t| ToolSpec { name: t.name.into(), description: t.description.into(), input_schema: t.schema })
        .collect();
    let corpus = dialect_corpus();
    let (mut calls_ok, mut calls_total, mut negatives_ok, mut negatives_total) = (0, 0, 0, 0);
    let (mut malformed_ok, mut malformed_total) = (0, 0);
    let mut misread = Vec::new();
    for sample in &corpus {
        let parsed = parse_text_tool_calls(&sample.text, &tools);
        let got: Vec<(String, Value)> =
            parsed.calls.iter().map(|c| (c.name.clone(), c.arguments.clone())).collect();
        let exact = got == sample.calls && parsed.malformed.len() == sample.malformed;
        if sample.calls.is_empty() && sample.malformed == 0 {
            negatives_total += 1;
            negatives_ok += usize::from(exact);
        } else if sample.calls.is_empty() {
            malformed_total += 1;
            malformed_ok += usize::from(exact);
        } else {
            calls_total += 1;
            calls_ok += usize::from(exact);
        }
        if !exact {
            misread.push(sample.label.clone());
        }
    }
    let mut times: Vec<Duration> = Vec::with_capacity(ROUNDS * corpus.len());
    let mut bytes = 0usize;
    for _ in 0..ROUNDS {
        for sample in &corpus {
            let started = Instant::now();
            let parsed = parse_text_tool_calls(&sample.text, &tools);
            times.push(started.elapsed());
            bytes += parsed.text.len();
        }
    }
    println!(
        "{} samples: calls read exactly {calls_ok}/{calls_total} ({:.1}%), replies without calls left alone \
         {negatives_ok}/{negatives_total} (false positives: {}), calls of unknown tools or with unreadable \
         arguments reported {malformed_ok}/{malformed_total}",
        corpus.len(),
        100.0 * calls_ok as f64 / calls_total.max(1) as f64,
        negatives_total - negatives_ok,
    );
    if !misread.is_empty() {
        println!("misread: {misread:?}");
    }
    println!("parse time per sample: {} ({bytes} bytes of text kept)", summarize(times));

    // A long reply: prose, code with braces, JSON that is not a call, and one call at the end.
    let chunk = "Here is the change.\n```rust\nfn main() {\n    let v = vec![1, 2, 3];\n    if v.len() > 2 { println!(\"{:?}\", v); }\n}\n```\n\
                 The config: {\"name\": \"demo\", \"version\": \"1.0\"} and [1, 2, 3].\n\n";
    let mut long = chunk.repeat(100_000 / chunk.len() + 1);
    long.push_str(
        "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"src/main.rs\"}}\n</tool_call>",
    );
    let mut long_times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let parsed = parse_text_tool_calls(&long, &tools);
        long_times.push(started.elapsed());
        anyhow::ensure!(
            parsed.calls.len() == 1,
            "the long reply's call was not read: {:?}",
            parsed.malformed
        );
    }
    println!("a {} KB reply with one call at the end: {}", long.len() / 1024, summarize(long_times));
    println!("(goal: 100% read, 0 false positives)");
    Ok(())
}
