//! `atelier-testkit`: the scripted model server as a process, for end-to-end tests of other
//! programs (the web UI, the desktop app). Prints `listening on http://127.0.0.1:PORT` and
//! serves until killed.
//!
//! ```text
//! atelier-testkit [--port N] [--reply TEXT] [--delay-ms N] [--script FILE]
//! ```
//! Without `--reply` every chat is answered with `echo: <the last user message>`.
//!
//! `--script FILE` routes chats by the text of their last user message, for scripted
//! workflows in browser and desktop tests (the first matching route wins; `delay_ms` is the
//! pause between streamed tokens):
//!
//! ```json
//! {"routes": [{"when": "Request:", "reply": "{\"summary\": …}", "delay_ms": 20}]}
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use atelier_testkit::{Reply, Scenario, TestLlm};
use serde::Deserialize;

fn usage() -> ! {
    eprintln!("usage: atelier-testkit [--port N] [--reply TEXT] [--delay-ms N] [--script FILE]");
    std::process::exit(2)
}

#[derive(Deserialize)]
struct Script {
    routes: Vec<Route>,
}

#[derive(Deserialize)]
struct Route {
    when: String,
    reply: String,
    #[serde(default)]
    delay_ms: u64,
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
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--reply" => reply = Some(value()),
            "--delay-ms" => delay = Duration::from_millis(value().parse().unwrap_or_else(|_| usage())),
            "--script" => script = Some(read_script(&value())),
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
    if let Some(text) = reply {
        llm.set_default(Scenario::Reply(Reply::text(&text).delay(delay)));
    }
    for route in script.map(|s| s.routes).unwrap_or_default() {
        let reply = Reply::text(&route.reply).delay(Duration::from_millis(route.delay_ms));
        llm.route(&route.when, Scenario::Reply(reply));
    }
    println!("listening on {}", llm.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("atelier-testkit: {e}");
    }
}
