// Desktop benchmark: start-up to the first interactive UI and idle memory (resident memory of
// the whole process tree, WebKit's processes included) of atelier-desktop beside a minimal
// Tauri hello-world (bench/tauri-hello) built the same way, on this machine, in this run.
// Both are launched the same way (WebKitWebDriver under the same display), five times each;
// medians are printed. Usage: `xvfb-run -a npm run bench:desktop [-- --profile release]`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import { launch, startDriver, startTestkit, treeRss } from './webkit.mjs';

const profile = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : 'debug';
const runs = Number(process.env.BENCH_RUNS ?? 5);
const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/atelier-target');
const work = mkdtempSync(join(tmpdir(), 'atelier-desktop-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(name, binary, ready, env) {
  const webdriver = await startDriver(env);
  const starts = [];
  const memory = [];
  let processes = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      const t0 = performance.now();
      const driver = await launch(webdriver.url, binary);
      try {
        await driver.wait(until.elementLocated(ready), 30000);
        await driver.wait(until.elementIsEnabled(await driver.findElement(ready)), 30000);
        starts.push(performance.now() - t0);
        // Idle: let start-up work (the engine's first health probe, WebKit's caches) settle.
        await driver.sleep(3000);
        const tree = treeRss(binary);
        memory.push(tree.bytes / 1048576);
        processes = tree.processes;
      } finally {
        await driver.quit();
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    webdriver.child.kill('SIGKILL');
  }
  const result = { name, start_ms: Math.round(median(starts)), rss_mib: Math.round(median(memory)), processes: processes.join(',') };
  console.log(`${name}: start ${starts.map(Math.round).join(', ')} ms (median ${result.start_ms}); idle RSS median ${result.rss_mib} MiB over ${processes.length} processes (${result.processes})`);
  return result;
}

// The model server is the testkit, so Atelier's start-up includes its usual health probe.
const testkit = await startTestkit(join(target, profile, 'atelier-testkit'));
try {
  const llm = testkit.url;
  const hello = await measure('tauri-hello', join(target, profile, 'tauri-hello'), By.xpath("//button[normalize-space(.)='Hello']"), {});
  const data = join(work, 'data');
  const atelier = await measure('atelier-desktop', join(target, profile, 'atelier-desktop'), By.xpath("//button[normalize-space(.)='New project' or @aria-label='New project']"), {
    ATELIER_DATA_DIR: data,
    OLLAMA_HOST: llm,
    ATELIER_LOG: 'warn',
  });
  const summary = {
    profile,
    runs,
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    start_over_hello_ms: atelier.start_ms - hello.start_ms,
    memory_ratio: Number((atelier.rss_mib / hello.rss_mib).toFixed(2)),
    hello,
    atelier,
  };
  console.log(`summary: ${JSON.stringify(summary)}`);
  console.log(`goals: start ≤ hello-world + 150 ms → +${summary.start_over_hello_ms} ms; memory ≤ 1.3× hello-world → ${summary.memory_ratio}×`);
  writeFileSync(join(work, 'summary.json'), JSON.stringify(summary));
} finally {
  testkit.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
