// Desktop benchmark: start-up to the first interactive UI and idle memory (resident memory of
// the whole process tree, WebKit's processes included) of atelier-desktop beside a minimal
// Tauri hello-world (bench/tauri-hello) built the same way, on this machine, in this run.
// Both are launched the same way (WebKitWebDriver under the same display), alternately, five
// times each after one uncounted warm-up launch; medians are printed, with the page's own timings. Usage: `xvfb-run -a npm run bench:desktop [-- --profile release]`.
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
const POLL_MS = 10;
// In the page: milliseconds after navigation start, and when that was (epoch ms).
const PAGE_TIMES = `
  const n = performance.getEntriesByType('navigation')[0];
  const at = (name) => { const m = performance.getEntriesByName(name)[0]; return m ? Math.round(m.startTime) : undefined; };
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return { origin: performance.timeOrigin, html: Math.round(n.responseEnd), dom_loaded: Math.round(n.domContentLoadedEventEnd), script: at('atelier:script'), interactive: at('atelier:interactive'), frame: at('atelier:frame'), task: at('atelier:task'), open: at('atelier:open'), load: Math.round(n.loadEventEnd) || undefined, first_paint: paint ? Math.round(paint.startTime) : undefined };`;

/** One launch: time to the ready element, the page's own timings, then the idle memory. */
async function once(app) {
  const t0 = performance.now();
  const driver = await launch(app.webdriver.url, app.binary);
  try {
    // Polled every 10 ms (selenium's default, 200 ms, would round each start up to the next poll).
    await driver.wait(until.elementLocated(app.ready), 30000, undefined, POLL_MS);
    await driver.wait(until.elementIsEnabled(await driver.findElement(app.ready)), 30000, undefined, POLL_MS);
    const start = performance.now() - t0;
    // Where the time went, by the page's own clock: navigation start (after launch), the
    // HTML received, scripts evaluated, the first screen rendered (Atelier's marks).
    const page = await driver.executeScript(PAGE_TIMES);
    page.navigation = Math.round(page.origin - (performance.timeOrigin + t0));
    if (process.env.BENCH_RESOURCES) {
      const list = await driver.executeScript(
        "return performance.getEntriesByType('resource').map((r) => `${r.name.split('/').pop()} ${Math.round(r.startTime)}-${Math.round(r.responseEnd)}`)",
      );
      console.log(`${app.name}: resources (ms after navigation): ${list.join(', ')}`);
    }
    delete page.origin;
    // Idle: let start-up work (the engine's first health probe, WebKit's caches) settle.
    await driver.sleep(3000);
    const tree = treeRss(app.binary);
    return { start, page, rss: tree.bytes / 1048576, processes: tree.processes };
  } finally {
    await driver.quit();
    await new Promise((r) => setTimeout(r, 500));
  }
}

function summarize(name, runs) {
  const { processes } = runs[runs.length - 1];
  const keys = Object.keys(runs[0].page).filter((k) => runs[0].page[k] != null);
  const breakdown = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r.page[k]))]));
  const result = { name, start_ms: Math.round(median(runs.map((r) => r.start))), rss_mib: Math.round(median(runs.map((r) => r.rss))), processes: processes.join(','), page_ms: breakdown };
  console.log(`${name}: start ${runs.map((r) => Math.round(r.start)).join(', ')} ms (median ${result.start_ms}); idle RSS median ${result.rss_mib} MiB over ${processes.length} processes (${result.processes})`);
  console.log(`${name}: page timings (medians; navigation = ms from launch to navigation start, the rest ms after it): ${JSON.stringify(breakdown)}`);
  return result;
}

// The model server is the testkit, so Atelier's start-up includes its usual health probe.
const testkit = await startTestkit(join(target, profile, 'atelier-testkit'));
try {
  const llm = testkit.url;
  const data = join(work, 'data');
  const apps = [
    { name: 'tauri-hello', binary: join(target, profile, 'tauri-hello'), ready: By.xpath("//button[normalize-space(.)='Hello']"), env: {} },
    {
      name: 'atelier-desktop',
      binary: join(target, profile, 'atelier-desktop'),
      ready: By.xpath("//button[normalize-space(.)='New project' or @aria-label='New project']"),
      env: { ATELIER_DATA_DIR: data, OLLAMA_HOST: llm, ATELIER_LOG: 'warn' },
    },
  ];
  const results = [];
  try {
    for (const app of apps) app.webdriver = await startDriver(app.env);
    // Launches alternate (hello, Atelier, hello, …) so both see the same machine state; the
    // first launch of each warms the disk cache and is not counted.
    for (const app of apps) await once(app);
    const runsOf = apps.map(() => []);
    for (let i = 0; i < runs; i += 1) {
      for (const [k, app] of apps.entries()) runsOf[k].push(await once(app));
    }
    for (const [k, app] of apps.entries()) results.push(summarize(app.name, runsOf[k]));
  } finally {
    for (const app of apps) app.webdriver?.child.kill('SIGKILL');
  }
  const [hello, atelier] = results;
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
  console.log(`goals: start ≤ hello-world + 150 ms → ${summary.start_over_hello_ms >= 0 ? '+' : ''}${summary.start_over_hello_ms} ms; memory ≤ 1.3× hello-world → ${summary.memory_ratio}×`);
  writeFileSync(join(work, 'summary.json'), JSON.stringify(summary));
} finally {
  testkit.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
