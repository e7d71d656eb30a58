//! `atelier-testkit`: the scripted model server as a process, for end-to-end tests of other
//! programs (the web UI, the desktop app). Prints `listening on http://127.0.0.1:PORT` and
//! serves until killed.
//!
//! ```text
//! atelier-testkit [--port N] [--reply TEXT] [--delay-ms N]
//! ```
//! Without `--reply` every chat is answered with `echo: <the last user message>`.

use std::net::SocketAddr;
use std::time::Duration;

use atelier_testkit::{Reply, Scenario, TestLlm};

fn usage() -> ! {
    eprintln!("usage: atelier-testkit [--port N] [--reply TEXT] [--delay-ms N]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut port = 0u16;
    let mut reply: Option<String> = None;
    let mut delay = Duration::ZERO;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--reply" => reply = Some(value()),
            "--delay-ms" => delay = Duration::from_millis(value().parse().unwrap_or_else(|_| usage())),
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
    println!("listening on {}", llm.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("atelier-testkit: {e}");
    }
}
