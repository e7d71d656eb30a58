//! `atelier-testkit`: the scripted model server as a process, for end-to-end tests of other
//! programs (the web UI, the desktop app). Prints `listening on http://127.0.0.1:PORT` and
//! serves until killed.
//!
//! ```text
//! atelier-testkit [--port N] [--reply TEXT] [--delay-ms N] [--script FILE]
//!                 [--models NAME,…] [--registry NAME,…] [--pull-delay-ms N]
//! ```
//! `--models` sets what `/api/tags` lists (empty: a server with no models, as a fresh Ollama);
//! `--registry` the models `/api/pull` can download, in ten progress steps `--pull-delay-ms`
//! apart (default 50).
//! Without `--reply` every chat is answered with `echo: <the last user message>`.
//!
//! `--script FILE` routes chats by the text of their last user message, for scripted
//! workflows in browser and desktop tests (the first matching route wins; `delay_ms` is the
//! pause between streamed tokens):
//!
//! ```json
//! {"routes": [{"when": "Request:", "reply": "{\"summary\": …}", "delay_ms": 20}]}
//! ```
//!
//! A route may also make tool calls after its text (`"calls": [{"name": "read_file",
//! "arguments": {"path": "README.md"}}]`, sent in each wire's native shape), look for `when`
//! elsewhere (`"on"`: `last_user`, the default; `last_message`, whatever its role, tool results
//! included; `anywhere`), and play an agent loop's steps, one per matching request, the last
//! repeating (`"steps": [{"calls": […]}, {"reply": "It says hello."}]`).

use std::net::SocketAddr;
use std::time::Duration;

use atelier_testkit::{Match, Reply, Scenario, TestCall, TestLlm};
use serde::Deserialize;
use serde_json::Value;

fn usage() -> ! {
    eprintln!(
        "usage: atelier-testkit [--port N] [--reply TEXT] [--delay-ms N] [--script FILE] [--models NAME,…] \
         [--registry NAME,…] [--pull-delay-ms N]"
    );
    std::process::exit(2)
}

#[derive(Deserialize)]
struct Script {
    routes: Vec<Route>,
}

#[derive(Deserialize)]
struct Route {
    when: String,
    #[serde(default)]
    on: On,
    #[serde(flatten)]
    step: Step,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum On {
    #[default]
    LastUser,
    LastMessage,
    Anywhere,
}

/// One reply: text, then tool calls.
#[derive(Deserialize, Default)]
struct Step {
    #[serde(default)]
    reply: String,
    #[serde(default)]
    calls: Vec<Call>,
    #[serde(default)]
    delay_ms: u64,
}

#[derive(Deserialize)]
struct Call {
    name: String,
    #[serde(default)]
    arguments: Value,
}

impl Step {
    fn scenario(&self) -> Scenario {
        let calls = self.calls.iter().map(|c| {
            TestCall::new(
                &c.name,
                match &c.arguments {
                    Value::Null => Value::Object(serde_json::Map::new()),
                    other => other.clone(),
                },
            )
        });
        Scenario::Reply(
            Reply::text(&self.reply).with_calls(calls.collect()).delay(Duration::from_millis(self.delay_ms)),
        )
    }
}

impl Route {
    /// Where to look, what for, and the scenarios to play in turn.
    fn plan(&self) -> (Match, &str, Vec<Scenario>) {
        let on = match self.on {
            On::LastUser => Match::LastUser,
            On::LastMessage => Match::LastMessage,
            On::Anywhere => Match::Anywhere,
        };
        let scenarios = if self.steps.is_empty() {
            vec![self.step.scenario()]
        } else {
            self.steps.iter().map(Step::scenario).collect()
        };
        (on, &self.when, scenarios)
    }
}

fn read_script(path: &str) -> Script {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("atelier-testkit: cannot read {path}: {e}");
        std::process::exit(2)
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        eprintln!("atelier-testkit: {path} is not a script ({{\"routes\": [{{\"when\", \"reply\", \"delay_ms\"}}]}}): {e}");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut reply: Option<String> = None;
    let mut delay = Duration::ZERO;
    let mut script: Option<Script> = None;
    let mut models: Option<Vec<String>> = None;
    let mut registry: Vec<String> = Vec::new();
    let mut pull_delay = Duration::from_millis(50);
    let names = |list: String| -> Vec<String> {
        list.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect()
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--reply" => reply = Some(value()),
            "--delay-ms" => delay = Duration::from_millis(value().parse().unwrap_or_else(|_| usage())),
            "--script" => script = Some(read_script(&value())),
            "--models" => models = Some(names(value())),
            "--registry" => registry = names(value()),
            "--pull-delay-ms" => {
                pull_delay = Duration::from_millis(value().parse().unwrap_or_else(|_| usage()))
            }
            _ => usage(),
        }
    }
    let llm = match TestLlm::start_on(SocketAddr::from(([127, 0, 0, 1], port))).await {
        Ok(llm) => llm,
        Err(e) => {
            eprintln!("atelier-testkit: cannot listen on port {port}: {e}");
            std::process::exit(1);
        }
    };
    // Listed models get a context length a coding model has; pulled ones too.
    let model = |name: &String| atelier_testkit::TestModel::new(name, 32_768);
    if let Some(models) = models {
        llm.set_models(models.iter().map(model).collect());
    }
    if !registry.is_empty() {
        llm.set_registry(registry.iter().map(model).collect(), pull_delay);
    }
    if let Some(text) = reply {
        llm.set_default(Scenario::Reply(Reply::text(&text).delay(delay)));
    }
    for route in script.map(|s| s.routes).unwrap_or_default() {
        let (on, when, scenarios) = route.plan();
        llm.route_sequence(on, when, scenarios);
    }
    println!("listening on {}", llm.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("atelier-testkit: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_read_plain_routes_calls_and_steps() {
        let script: Script = serde_json::from_str(
            r#"{"routes": [
                {"when": "Request:", "reply": "{}", "delay_ms": 20},
                {"when": "hello.txt", "on": "anywhere", "steps": [
                    {"reply": "Reading.", "calls": [{"name": "read_file", "arguments": {"path": "hello.txt"}}]},
                    {"reply": "It says hello."}]}
            ]}"#,
        )
        .unwrap_or_else(|e| panic!("script: {e}"));
        let (on, when, plain) = script.routes[0].plan();
        assert_eq!((on, when, plain.len()), (Match::LastUser, "Request:", 1));
        let (on, _, steps) = script.routes[1].plan();
        assert_eq!(on, Match::Anywhere);
        let Scenario::Reply(first) = &steps[0] else { panic!("a reply") };
        assert_eq!(
            first.tool_calls,
            vec![TestCall::new("read_file", serde_json::json!({ "path": "hello.txt" }))]
        );
        let Scenario::Reply(second) = &steps[1] else { panic!("a reply") };
        assert!(second.tool_calls.is_empty() && second.tokens.concat() == "It says hello.");
    }
}
