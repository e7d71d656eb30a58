//! The endpoint pool: a workflow whose coders write in parallel through pools of 1, 2 and 4
//! testkit endpoints, each limited to 2 requests at once with a fixed per-token delay. With
//! the endpoints the bottleneck, the coders' stage should shrink in proportion to the pool.

use std::sync::Arc;
use std::time::Duration;

use atelier_llm::{EndpointPool, LlmConfig, PoolConfig};
use atelier_testkit::TestLlm;

use crate::workflows::{one_on, script};

/// Files written by the workflow: enough for several rounds of every slot in the largest pool.
const FILES: usize = 32;
/// Coders allowed at once: as many as the largest pool has slots (4 endpoints × 2).
const CODERS: usize = 8;
const PER_ENDPOINT: usize = 2;
/// 20 tokens a file at this delay: ~200 ms of model time per file.
const TOKEN_DELAY: Duration = Duration::from_millis(10);

pub async fn run() -> anyhow::Result<()> {
    println!("== pool");
    println!(
        "{FILES} files, {CODERS} coders at once, endpoints limited to {PER_ENDPOINT} requests each, \
         20 tokens a file at {} ms/token",
        TOKEN_DELAY.as_millis()
    );
    let mut base: Option<Duration> = None;
    for endpoints in [1usize, 2, 4] {
        let mut servers = Vec::new();
        for _ in 0..endpoints {
            let llm = TestLlm::start().await?;
            script(&llm, FILES, TOKEN_DELAY);
            servers.push(llm);
        }
        let spec = servers.iter().map(TestLlm::url).collect::<Vec<_>>().join(",");
        let config = PoolConfig { per_endpoint: PER_ENDPOINT, ..PoolConfig::default() };
        let pool = Arc::new(EndpointPool::from_spec(&spec, None, LlmConfig::default(), config)?);
        // One warm-up run (connections, the database's first pages), then the measured one.
        one_on(pool.clone(), CODERS).await?;
        let (wall, _, _, coders) = one_on(pool.clone(), CODERS).await?;
        let most: Vec<usize> = servers.iter().map(TestLlm::streams_most).collect();
        anyhow::ensure!(most.iter().all(|m| *m <= PER_ENDPOINT), "an endpoint went over its limit: {most:?}");
        let t1 = *base.get_or_insert(coders);
        let speedup = t1.as_secs_f64() / coders.as_secs_f64();
        println!(
            "{endpoints} endpoint(s): whole workflow {:.2} s; coders' stage {:.2} s, speedup {:.2}x = {:.2} of linear; \
             requests per endpoint {:?}, most at once per endpoint {:?}",
            wall.as_secs_f64(),
            coders.as_secs_f64(),
            speedup,
            speedup / endpoints as f64,
            servers.iter().map(TestLlm::chat_requests).collect::<Vec<_>>(),
            most,
        );
    }
    println!("(goal: >= 0.85 of linear)");
    Ok(())
}
