// Browser end-to-end test: the real `atelier serve` (serving ui/dist) and the scripted model
// server, driven through Debian's Chromium with playwright-core. Fails on any console error
// and on any request to another host. Screenshots of each step go to e2e/artifacts/.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { createServer } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/atelier-target');
const ATELIER = process.env.ATELIER_BIN ?? join(target, 'debug/atelier');
const TESTKIT = process.env.ATELIER_TESTKIT_BIN ?? join(target, 'debug/atelier-testkit');
const artifacts = join(here, 'artifacts');
// Each run's screenshots alone: an older run's would be mistaken for this one's.
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
const children = [];

/** Starts a process and resolves with the first stdout line matching `pattern`. */
function start(cmd, args, pattern, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`)));
  });
}

/** The poem a reviewed workflow edits: twelve lines, the first and the last changed. */
const POEM = Array.from({ length: 12 }, (_, i) => `line ${i + 1} of the poem`).join('\n') + '\n';
const POEM_EDITED = POEM.replace('line 1 of the poem', 'LINE ONE, rewritten').replace('line 12 of the poem', 'LINE TWELVE, rewritten');
const script = {
  routes: [
    // A chat with tools: one step per model request of the agent loop (the last user message
    // stays the same while tool results are added): first a call, then the answer.
    {
      when: 'please run the echo tool',
      steps: [
        { reply: 'I will run it.', calls: [{ name: 'run_command', arguments: { command: 'echo tool-ran' } }] },
        { reply: 'Done: the command printed tool-ran' },
      ],
    },
    // The first matching route wins: coders' and managers' prompts also quote the request.
    { when: 'Write the file `src/greet.txt`', reply: '```text\nhello from the agents\n```', delay_ms: 20 },
    // A workflow under review: the coder changes the first and the last line of a committed
    // file, two hunks apart.
    { when: 'Write the file `src/poem.txt`', reply: `\`\`\`text\n${POEM_EDITED}\`\`\``, delay_ms: 5 },
    { when: 'Your module:', reply: 'Keep it short.' },
    {
      when: 'Edit the poem',
      reply: '{"summary": "Edit the poem", "modules": [{"name": "poem", "responsibility": "the poem", "files": [{"path": "src/poem.txt", "purpose": "the poem, first and last lines changed"}]}]}',
    },
    {
      when: 'Request:',
      reply: '{"summary": "Add a greeting", "modules": [{"name": "greet", "responsibility": "greetings", "files": [{"path": "src/greet.txt", "purpose": "a greeting"}]}]}',
    },
    // At least 100 KB/s: 1,250 tokens of 400 characters, 2 ms apart (timers make it ~3 ms).
    { when: 'stream fast', reply: Array.from({ length: 1250 }, (_, i) => `${String(i).padStart(5, '0')}${'x'.repeat(395)}`).join(' '), delay_ms: 2 },
    { when: 'say hi', reply: 'Hi there! Here is **bold** text and code:\n\n```rust\nfn main() {}\n```', delay_ms: 15 },
  ],
};
writeFileSync(join(work, 'script.json'), JSON.stringify(script));

let step = 0;
const timings = {};
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: join(artifacts, `${String(step).padStart(2, '0')}-${name}.png`) });
  console.log(`ok ${step} - ${name}`);
}

/** One JSON-RPC call to the server from the test itself (to check what the UI did). */
function rpc(origin, method, params = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}/ws?token=e2e-token`);
    ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.id !== 1) return;
      ws.close();
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    });
    ws.on('error', reject);
  });
}

/** Every control the browser exposes must have an accessible name (computed by Chromium itself). */
const NAMED_ROLES = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'checkbox', 'radio', 'tab', 'slider', 'spinbutton', 'listbox', 'menuitem', 'switch', 'meter', 'progressbar']);
async function auditNames(page, where) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const unnamed = nodes
    .filter((n) => !n.ignored && NAMED_ROLES.has(n.role?.value) && !String(n.name?.value ?? '').trim())
    .map((n) => `${n.role.value}#${n.backendDOMNodeId}`);
  if (unnamed.length) {
    const html = await Promise.all(
      unnamed.slice(0, 5).map(async (u) => {
        const cdp2 = await page.context().newCDPSession(page);
        const { outerHTML } = await cdp2.send('DOM.getOuterHTML', { backendNodeId: Number(u.split('#')[1]) }).catch(() => ({ outerHTML: '?' }));
        await cdp2.detach();
        return outerHTML.slice(0, 160);
      }),
    );
    problems.push(`controls without an accessible name in ${where}: ${unnamed.length}: ${html.join(' | ')}`);
  }
  timings.audited_views = (timings.audited_views ?? 0) + 1;
}

/**
 * ATELIER_E2E_PROFILE=1: a CPU profile of the page over a step, with the functions that took the
 * most time printed (and the profile kept in e2e/artifacts for Chromium's DevTools).
 */
async function startProfile(page) {
  if (!process.env.ATELIER_E2E_PROFILE) return null;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  return cdp;
}
async function stopProfile(cdp, name) {
  if (!cdp) return;
  const { profile } = await cdp.send('Profiler.stop');
  await cdp.detach();
  writeFileSync(join(artifacts, `${name}.cpuprofile`), JSON.stringify(profile));
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`   profile of ${name} (self ms):\n${top.map(([k, v]) => `     ${Math.round(v)} ${k}`).join('\n')}`);
}

/** A free TCP port on loopback (for a model server that starts later). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A page of its own (fresh storage) that records problems like the main one. */
async function freshPage(origin, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
  const p = await context.newPage();
  p.on('console', (m) => m.type() === 'error' && problems.push(`console error (first run): ${m.text()}`));
  p.on('pageerror', (e) => problems.push(`page error (first run): ${e.message}`));
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (!['http:', 'ws:'].includes(u.protocol) ? !['data:', 'blob:'].includes(u.protocol) : u.host !== new URL(origin).host) problems.push(`request to another host: ${r.url()}`);
  });
  return p;
}

/**
 * The first run: a fresh Atelier whose model server is not there yet shows how to get one;
 * "Check again" once it runs leads on to the projects. Then (once the engine has
 * `models.recommended` and the testkit can start without models) a server with no models:
 * Download shows a progress bar and ends with a working chat.
 */
async function firstRun() {
  const llmPort = await freePort();
  const env = { OLLAMA_HOST: `http://127.0.0.1:${llmPort}`, ATELIER_LOG: 'warn' };
  const fresh = await start(ATELIER, ['serve', '--bind', '127.0.0.1:0', '--data-dir', join(work, 'data-first-run'), '--token', 'e2e-token'], /open (http:\/\/[^/]+)\/#token=(\S+)/, env);
  const origin = fresh.match[1];
  // The system is dark: the first-run screen is dark from its first paint.
  const p = await freshPage(origin, { colorScheme: 'dark' });
  await p.goto(`${origin}/#token=e2e-token`);
  await p.getByRole('heading', { name: 'Connect a model server' }).waitFor({ timeout: 20000 });
  await p.getByText('curl -fsSL https://ollama.com/install.sh | sh').waitFor({ timeout: 5000 });
  if ((await p.evaluate(() => getComputedStyle(document.body).backgroundColor)) !== 'rgb(13, 17, 23)') throw new Error('the first-run page is not dark under a dark system');
  await auditNames(p, 'the first-run screen');
  await shot(p, 'first-run-no-server');
  await start(TESTKIT, ['--port', String(llmPort)], /listening on/);
  await p.getByRole('button', { name: 'Check again' }).click();
  await p.getByRole('button', { name: 'New project' }).waitFor({ timeout: 20000 });
  await p.getByRole('contentinfo', { name: 'Status bar' }).getByRole('button', { name: 'Model: test-model. Choose the model' }).waitFor({ timeout: 10000 });
  await shot(p, 'first-run-check-again');
  await p.context().close();

  // Another server, chosen on the first-run screen while Atelier runs (the setting
  // `model_server`): a fresh Atelier whose own server is not there uses the testkit above.
  const deadPort = await freePort();
  const other = await start(ATELIER, ['serve', '--bind', '127.0.0.1:0', '--data-dir', join(work, 'data-other-server'), '--token', 'e2e-token'], /open (http:\/\/[^/]+)\/#token=(\S+)/, {
    OLLAMA_HOST: `http://127.0.0.1:${deadPort}`,
    ATELIER_LOG: 'warn',
  });
  const originOther = other.match[1];
  const o = await freshPage(originOther);
  await o.goto(`${originOther}/#token=e2e-token`);
  await o.getByRole('heading', { name: 'Connect a model server' }).waitFor({ timeout: 20000 });
  await o.getByRole('textbox', { name: 'Ollama address' }).fill(`http://127.0.0.1:${llmPort}`);
  await shot(o, 'first-run-other-server');
  await o.getByRole('button', { name: 'Use this server' }).click();
  await o.getByRole('button', { name: 'New project' }).waitFor({ timeout: 20000 });
  await o.getByRole('contentinfo', { name: 'Status bar' }).getByRole('button', { name: 'Model: test-model. Choose the model' }).waitFor({ timeout: 10000 });
  const chosen = await rpc(originOther, 'settings.get');
  if (chosen.model_server !== `http://127.0.0.1:${llmPort}`) throw new Error(`model_server is ${JSON.stringify(chosen.model_server)}`);
  await shot(o, 'first-run-other-server-used');
  await o.context().close();

  // A server without models: the recommended ones, downloaded with a progress bar.
  const emptyPort = await freePort();
  const emptyEnv = { OLLAMA_HOST: `http://127.0.0.1:${emptyPort}`, ATELIER_LOG: 'warn' };
  const third = await start(ATELIER, ['serve', '--bind', '127.0.0.1:0', '--data-dir', join(work, 'data-no-models'), '--token', 'e2e-token'], /open (http:\/\/[^/]+)\/#token=(\S+)/, emptyEnv);
  const origin3 = third.match[1];
  const recommended = await rpc(origin3, 'models.recommended').catch((e) => (/unknown method/.test(e.message) ? null : Promise.reject(e)));
  if (!recommended) {
    console.log('skip - no models → Download: the engine has no `models.recommended` yet');
    return;
  }
  const names = recommended.models.map((m) => m.name);
  // The testkit without models, with a registry to pull the recommended ones from (slowly
  // enough to see the progress bar).
  const noModels = await start(TESTKIT, ['--port', String(emptyPort), '--models', '', '--registry', names.join(','), '--pull-delay-ms', '40'], /listening on/).catch((e) => {
    if (/exited 2/.test(e.message)) return null;
    throw e;
  });
  if (!noModels) {
    console.log('skip - no models → Download: atelier-testkit has no --models/--registry flags yet');
    return;
  }
  const q = await freshPage(origin3);
  firstRunPage = q;
  await q.goto(`${origin3}/#token=e2e-token`);
  await q.getByRole('heading', { name: 'Download a model' }).waitFor({ timeout: 20000 });
  const list = q.getByRole('list', { name: 'Recommended models' });
  await list.getByRole('listitem').first().waitFor({ timeout: 10000 });
  await shot(q, 'first-run-no-models');
  await list.getByRole('button', { name: `Download ${names[0]}` }).click();
  await q.getByRole('progressbar', { name: `Download of ${names[0]}` }).waitFor({ timeout: 10000 });
  await shot(q, 'first-run-downloading');
  await q.getByRole('button', { name: 'New project' }).waitFor({ timeout: 60000 });
  await q.getByRole('contentinfo', { name: 'Status bar' }).getByRole('button', { name: `Model: ${names[0]}. Choose the model` }).waitFor({ timeout: 10000 });
  const settings = await rpc(origin3, 'settings.get');
  if (settings.default_model !== names[0]) throw new Error(`the downloaded model is not the default: ${JSON.stringify(settings.default_model)}`);
  await q.getByRole('button', { name: 'New project' }).click();
  await q.getByRole('textbox', { name: 'Project name' }).fill('first app');
  await q.getByRole('button', { name: 'Create' }).click();
  const box = q.getByRole('textbox', { name: 'Message' });
  await box.fill('hello first run');
  await box.press('Control+Enter');
  await q.locator('.msg.assistant.complete', { hasText: 'hello first run' }).waitFor({ timeout: 20000 });
  await shot(q, 'first-run-chat');
  await q.context().close();
}

let page = null;
// The first-run check's own tab, while it runs (its messages are printed when a step fails).
let firstRunPage = null;
let browser = null;
let problems = [];
async function main() {
  const { child: testkit, match: llm } = await start(TESTKIT, ['--port', '0', '--script', join(work, 'script.json')], /listening on (http:\/\/\S+)/);
  const dataDir = join(work, 'data');
  const serveArgs = ['serve', '--bind', '127.0.0.1:0', '--data-dir', dataDir, '--token', 'e2e-token', '--model', 'test-model'];
  const env = { OLLAMA_HOST: llm[1], ATELIER_LOG: 'warn' };
  let server = await start(ATELIER, serveArgs, /open (http:\/\/[^/]+)\/#token=(\S+)/, env);
  const origin = server.match[1];
  const port = new URL(origin).port;

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['http:', 'ws:'].includes(u.protocol) ? !['data:', 'blob:'].includes(u.protocol) : u.host !== new URL(origin).host) problems.push(`request to another host: ${r.url()}`);
  });

  // Load: the page is interactive when "New project" can be clicked.
  const t0 = Date.now();
  await page.goto(`${origin}/#token=e2e-token`);
  await page.getByRole('button', { name: 'New project' }).waitFor();
  timings.first_load_to_interactive_ms = Date.now() - t0;
  if (page.url().includes('token=')) throw new Error('the token stayed in the address bar');
  await auditNames(page, 'the project list');
  await shot(page, 'loaded');

  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByRole('textbox', { name: 'Project name' }).fill('e2e app');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  // The assistant's system message and greeting open the session, folded into one line.
  await page.locator('.about-agent').first().waitFor({ timeout: 10000 });
  if (await page.locator('.msg.system').count()) throw new Error('the system prompt shows as a chat message');
  await shot(page, 'project-created');

  // The status bar names the model in use and the server's health; the model picker lists it.
  const statusBar = page.getByRole('contentinfo', { name: 'Status bar' });
  const modelButton = statusBar.getByRole('button', { name: 'Model: test-model. Choose the model' });
  await modelButton.waitFor({ timeout: 10000 });
  await statusBar.getByRole('status', { name: 'Model server ready' }).waitFor({ timeout: 10000 });
  await statusBar.getByRole('button', { name: 'Code index' }).waitFor({ timeout: 10000 });
  await modelButton.click();
  await page.getByRole('dialog', { name: 'Choose the model' }).getByRole('option', { name: /test-model/ }).waitFor({ timeout: 5000 });
  await shot(page, 'status-bar-model');
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Choose the model' }).waitFor({ state: 'detached', timeout: 5000 });

  await page.getByRole('textbox', { name: 'Message' }).fill('say hi');
  await page.getByRole('textbox', { name: 'Message' }).press('Control+Enter');
  await page.getByText('Hi there!').waitFor({ timeout: 15000 });
  await page.locator('.msg.assistant strong', { hasText: 'bold' }).waitFor();
  await page.getByRole('button', { name: 'Copy code' }).first().waitFor();
  await shot(page, 'chat-streamed');

  await page.getByRole('tab', { name: 'Workflows' }).click();
  await page.getByRole('textbox', { name: 'Request' }).fill('Add a greeting file');
  await page.getByRole('button', { name: 'Start workflow' }).click();
  await page.locator('.workflow .status', { hasText: 'completed' }).first().waitFor({ timeout: 30000 });
  await page.getByRole('list', { name: 'Agents' }).getByText('master').first().waitFor();
  await page.getByRole('button', { name: 'Open file src/greet.txt' }).waitFor({ timeout: 10000 });
  await shot(page, 'workflow-done');

  await page.getByRole('button', { name: 'Open file src/greet.txt' }).click();
  await page.locator('.monaco .view-lines', { hasText: 'hello from the agents' }).waitFor({ timeout: 15000 });
  await shot(page, 'file-in-editor');

  // What the workflow changed, side by side (Monaco's diff editor over git.show).
  await page.getByRole('button', { name: 'Show changes to src/greet.txt' }).click();
  await page.getByRole('dialog', { name: 'Changes to src/greet.txt' }).locator('.modified .view-lines', { hasText: 'hello from the agents' }).waitFor({ timeout: 15000 });
  await shot(page, 'workflow-diff');
  await page.getByRole('button', { name: 'Close diff' }).click();

  // Closing a file with unsaved changes asks first; "Cancel" keeps the tab and its changes.
  await page.locator('.monaco .view-lines').click();
  await page.keyboard.press('End');
  await page.keyboard.type('!');
  const tab = page.getByRole('tab', { name: 'greet.txt •' });
  await tab.waitFor({ timeout: 5000 });
  const questions = [];
  const answer = (accept) => (dialog) => {
    questions.push(dialog.message());
    void (accept ? dialog.accept() : dialog.dismiss());
  };
  page.once('dialog', answer(false));
  await page.getByRole('button', { name: 'Close src/greet.txt' }).click();
  await page.waitForTimeout(300);
  if (questions[0] !== 'Close src/greet.txt without saving your changes?') throw new Error(`asked: ${questions}`);
  if (!(await tab.isVisible())) throw new Error('the tab closed although the question was declined');
  // Settings and back: the workspace was kept, edit included.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('main', { name: 'Settings' }).waitFor({ timeout: 10000 });
  if (await tab.isVisible()) throw new Error('the workspace showed beside Settings');
  await page.getByRole('button', { name: 'Settings' }).click();
  await tab.waitFor({ timeout: 5000 });
  await page.locator('.monaco .view-lines', { hasText: 'hello from the agents!' }).waitFor({ timeout: 5000 });
  // Leaving the project asks too; declined, the workspace stays.
  page.once('dialog', answer(false));
  await page.getByRole('button', { name: 'All projects' }).click();
  await page.waitForTimeout(300);
  if (questions[1] !== 'Your changes to greet.txt are not saved and will be lost. Leave e2e app anyway?') throw new Error(`asked: ${questions}`);
  if (!(await tab.isVisible())) throw new Error('the workspace closed although leaving was declined');
  // Another program changes the file being edited: the edit stays, a bar says so, and "Reload
  // from disk" takes the other version.
  const projectPath = (await rpc(origin, 'projects.list')).find((p) => p.name === 'e2e app')?.path;
  writeFileSync(join(projectPath, 'src/greet.txt'), 'changed outside\n');
  const staleBar = page.getByRole('alert').filter({ hasText: 'changed on disk after you started editing it' });
  await staleBar.waitFor({ timeout: 10000 });
  if (!(await tab.isVisible())) throw new Error('the unsaved edit was dropped when the file changed on disk');
  await shot(page, 'changed-on-disk');
  await staleBar.getByRole('button', { name: 'Reload from disk' }).click();
  await page.locator('.monaco .view-lines', { hasText: 'changed outside' }).waitFor({ timeout: 5000 });
  await page.getByRole('tab', { name: 'greet.txt', exact: true }).waitFor({ timeout: 5000 });
  await page.locator('.monaco .view-lines').click();
  await page.keyboard.press('End');
  await page.keyboard.type('!');
  await tab.waitFor({ timeout: 5000 });
  // Changed on disk again: saving asks before replacing it (declined: the other version stays);
  // after "Keep my version" it saves without asking.
  const greetPath = join(projectPath, 'src/greet.txt');
  writeFileSync(greetPath, 'changed twice\n');
  await staleBar.waitFor({ timeout: 10000 });
  page.once('dialog', answer(false));
  await page.locator('.monaco .view-lines').click();
  await page.keyboard.press('Control+s');
  await page.waitForTimeout(300);
  if (questions[2] !== 'src/greet.txt changed on disk after you started editing it. Replace it with your version?') throw new Error(`asked: ${questions}`);
  if (readFileSync(greetPath, 'utf8') !== 'changed twice\n') throw new Error('saving replaced a file changed on disk although that was declined');
  await staleBar.getByRole('button', { name: 'Keep my version' }).click();
  await staleBar.waitFor({ state: 'detached', timeout: 5000 });
  await page.locator('.monaco .view-lines').click();
  await page.keyboard.press('Control+s');
  await page.getByRole('tab', { name: 'greet.txt', exact: true }).waitFor({ timeout: 5000 });
  if (readFileSync(greetPath, 'utf8') !== 'changed outside\n!') throw new Error(`saved: ${JSON.stringify(readFileSync(greetPath, 'utf8'))}`);
  if (questions.length !== 3) throw new Error(`asked again after "Keep my version": ${questions}`);
  await page.keyboard.type('!');
  await tab.waitFor({ timeout: 5000 });
  page.once('dialog', answer(true));
  await page.getByRole('button', { name: 'Close src/greet.txt' }).click();
  await tab.waitFor({ state: 'detached', timeout: 5000 });
  if (questions.length !== 4) throw new Error(`asked ${questions.length} times`);
  // Ctrl+P: go to a file by typing part of its name.
  await page.keyboard.press('Control+p');
  await page.getByRole('dialog', { name: 'Go to file' }).waitFor({ timeout: 5000 });
  await page.keyboard.type('grt');
  await page.getByRole('option', { name: /greet\.txt/ }).waitFor({ timeout: 5000 });
  await page.keyboard.press('Enter');
  await page.getByRole('tab', { name: 'greet.txt', exact: true }).waitFor({ timeout: 5000 });
  if (await page.getByRole('dialog', { name: 'Go to file' }).count()) throw new Error('Go to file stayed open after Enter');

  // Code search: an outside file is indexed (the header says the index is ready); any spelling
  // of a name finds it, and the result opens the file at the line, scrolled into view.
  const filler = Array.from({ length: 150 }, (_, i) => `// filler line ${i + 1}`).join('\n');
  writeFileSync(join(projectPath, 'src/deep.rs'), `${filler}\npub fn locate_the_needle() -> u32 {\n    42\n}\n`);
  await page.getByRole('button', { name: 'Code index' }).filter({ hasText: /Index: \d+ files/ }).waitFor({ timeout: 15000 });
  await page.getByRole('textbox', { name: 'Search code' }).fill('locateTheNeedle');
  const hit = page.getByRole('list', { name: 'Code search results' }).getByRole('button', { name: /src\/deep\.rs:1\d\d/ });
  await hit.first().waitFor({ timeout: 15000 });
  await shot(page, 'code-search');
  await hit.first().click();
  await page.getByRole('tab', { name: 'deep.rs', exact: true }).waitFor({ timeout: 5000 });
  await page.locator('.monaco .view-lines', { hasText: 'locate_the_needle' }).waitFor({ timeout: 10000 });
  await page.getByRole('textbox', { name: 'Search code' }).press('Escape');
  await page.getByRole('navigation', { name: 'Files' }).waitFor({ timeout: 5000 });
  await shot(page, 'code-search-opened');

  // Rename in the tree with the file open (F2, inline): the tab follows, with its text, and a
  // save writes to the new name.
  await page.getByRole('button', { name: 'Open file src/deep.rs' }).focus();
  await page.keyboard.press('F2');
  const renameBox = page.getByRole('textbox', { name: 'New name for src/deep.rs' });
  await renameBox.fill('found.rs');
  await renameBox.press('Enter');
  await page.getByRole('tab', { name: 'found.rs', exact: true }).waitFor({ timeout: 10000 });
  if (await page.getByRole('tab', { name: 'deep.rs', exact: true }).count()) throw new Error('the tab of the renamed file kept its old name');
  await page.getByRole('button', { name: 'Open file src/found.rs' }).waitFor({ timeout: 10000 });
  await page.locator('.monaco .view-lines', { hasText: 'locate_the_needle' }).waitFor({ timeout: 5000 });
  await page.getByRole('status').filter({ hasText: 'Renamed src/deep.rs to src/found.rs' }).waitFor({ timeout: 5000 });
  await shot(page, 'renamed-tab-follows');
  await page.locator('.monaco .view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('// saved after the rename');
  await page.getByRole('tab', { name: 'found.rs •' }).waitFor({ timeout: 5000 });
  await page.keyboard.press('Control+s');
  await page.getByRole('tab', { name: 'found.rs', exact: true }).waitFor({ timeout: 5000 });
  if (!readFileSync(join(projectPath, 'src/found.rs'), 'utf8').endsWith('// saved after the rename')) throw new Error('the save did not go to the new name');
  if (existsSync(join(projectPath, 'src/deep.rs'))) throw new Error('the old name came back on save');

  // Find in files (Ctrl+Shift+F): the match's line shows with the match marked; a click opens
  // the file there.
  await page.keyboard.press('Control+Shift+F');
  const find = page.getByRole('region', { name: 'Find in files' });
  await find.getByRole('textbox', { name: 'Find' }).fill('locate_the_needle');
  const found = find.getByRole('button', { name: /^src\/found\.rs line 151: pub fn locate_the_needle/ });
  await found.waitFor({ timeout: 15000 });
  if ((await found.locator('mark').textContent()) !== 'locate_the_needle') throw new Error('the match is not marked');
  await auditNames(page, 'find in files');
  await shot(page, 'find-in-files');
  await found.click();
  await page.getByRole('tab', { name: 'found.rs', exact: true }).waitFor({ timeout: 5000 });
  await find.getByRole('button', { name: 'Close find in files' }).click();
  await page.getByRole('navigation', { name: 'Files' }).waitFor({ timeout: 5000 });

  await page.getByRole('button', { name: 'New terminal' }).click();
  await page.locator('.xterm-host').first().waitFor();
  await page.waitForTimeout(500);
  await page.locator('.xterm-host').first().click();
  await page.keyboard.type('echo hello-$((6*7))-e2e\n');
  await page.waitForFunction(() => document.querySelector('.xterm-host')?.textContent?.includes('hello-42-e2e'), null, { timeout: 10000 });
  await shot(page, 'terminal-echo');

  // The command palette (Ctrl+Shift+P, from inside the terminal): filtered by typing, "New
  // terminal" run with the keyboard alone opens a second shell.
  const terminalTabs = page.getByRole('tablist', { name: 'Terminal tabs' }).getByRole('tab');
  const before = await terminalTabs.count();
  await page.keyboard.press('Control+Shift+P');
  const palette = page.getByRole('dialog', { name: 'Command palette' });
  await palette.waitFor({ timeout: 5000 });
  await auditNames(page, 'the command palette');
  await page.keyboard.type('new term');
  const first = palette.getByRole('option').first();
  await first.filter({ hasText: 'New terminal' }).waitFor({ timeout: 5000 });
  if ((await palette.getByRole('option').count()) > 3) throw new Error('the palette did not filter');
  await shot(page, 'palette-filtered');
  await page.keyboard.press('Enter');
  await palette.waitFor({ state: 'detached', timeout: 5000 });
  await page.waitForFunction((n) => document.querySelectorAll('[aria-label="Terminal tabs"] [role="tab"]').length === n + 1, before, { timeout: 10000 });
  await shot(page, 'palette-new-terminal');
  // Back to the first shell (the next steps read its screen), the second one closed.
  await page.getByRole('button', { name: `Close terminal ${before + 1}` }).click();
  await terminalTabs.first().click();

  // Ctrl+` hides the terminal panel and shows it again: the shell is reattached and its
  // scrollback replayed.
  await page.keyboard.press('Control+Backquote');
  await page.locator('.xterm-host').first().waitFor({ state: 'detached', timeout: 5000 });
  await page.keyboard.press('Control+Backquote');
  await page.waitForFunction(() => document.querySelector('.xterm-host')?.textContent?.includes('hello-42-e2e'), null, { timeout: 10000 });
  await shot(page, 'terminal-reattached');

  // Another tab (its own sessionStorage, so it cannot know the id) finds the shell through
  // terminals.list and shows its screen; a tab holding a wrong token says so instead of retrying.
  const other = await context.newPage();
  other.on('console', (m) => m.type() === 'error' && problems.push(`console error (second tab): ${m.text()}`));
  other.on('pageerror', (e) => problems.push(`page error (second tab): ${e.message}`));
  await other.goto(`${origin}/#token=e2e-token`);
  await other.getByRole('button', { name: 'Open e2e app' }).click();
  await other.waitForFunction(() => document.querySelector('.xterm-host')?.textContent?.includes('hello-42-e2e'), null, { timeout: 10000 });
  await shot(other, 'terminal-in-second-tab');
  // (Only the fragment changes: reload so the page starts again with the wrong token.)
  await other.goto(`${origin}/#token=not-the-token`);
  await other.reload();
  await other.getByText('The access token was refused').waitFor({ timeout: 10000 });
  await shot(other, 'token-refused');
  await other.close();

  // Every panel's controls are named.
  for (const tab of ['Workflows', 'Git', 'Checkpoints', 'Monitor', 'Chat']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.waitForTimeout(300);
    await auditNames(page, `the ${tab} panel`);
  }

  // Commit from the git panel: an outside file, staged and committed through the UI.
  const listed = await rpc(origin, 'projects.list');
  const projectDir = listed.find((p) => p.name === 'e2e app')?.path;
  if (!projectDir) throw new Error(`the project is not listed: ${JSON.stringify(listed)}`);
  writeFileSync(join(projectDir, 'NOTES.md'), '# notes from outside\n');
  await page.getByRole('tab', { name: 'Git' }).click();
  await page.getByRole('button', { name: 'Stage NOTES.md' }).click({ timeout: 10000 });
  await page.getByRole('textbox', { name: 'Commit message' }).fill('Add notes from the e2e test');
  await page.getByRole('button', { name: 'Commit', exact: true }).click();
  await page.getByText('Committed').waitFor();
  const log = execFileSync('git', ['log', '--format=%s'], { cwd: projectDir }).toString();
  if (!log.includes('Add notes from the e2e test')) throw new Error(`git log lacks the commit: ${log}`);
  execFileSync('git', ['fsck', '--strict'], { cwd: projectDir });
  await shot(page, 'committed');

  // A workflow with review: it waits with the changes in Monaco's diff editor; one hunk is
  // accepted and the other rejected; the commit then has only the accepted hunk, and the
  // rejected one is put back in the file.
  writeFileSync(join(projectDir, 'src/poem.txt'), POEM);
  const git = (...args) => execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], { cwd: projectDir }).toString();
  git('add', 'src/poem.txt');
  git('commit', '-q', '-m', 'Add the poem');
  await page.getByRole('tab', { name: 'Workflows' }).click();
  await page.getByRole('textbox', { name: 'Request' }).fill('Edit the poem');
  await page.locator('details.options > summary').click();
  await page.getByRole('checkbox', { name: 'Review the changes before they are committed' }).check();
  await page.getByRole('button', { name: 'Start workflow' }).click();
  const review = page.getByRole('region', { name: 'Review changes' });
  await review.waitFor({ timeout: 60000 });
  // Nothing is committed while the review waits.
  if (!git('log', '-1', '--format=%s').includes('Add the poem')) throw new Error('the workflow committed before the review');
  await review.locator('.modified .view-lines', { hasText: 'LINE ONE, rewritten' }).waitFor({ timeout: 15000 });
  await review.locator('.original .view-lines', { hasText: 'line 1 of the poem' }).waitFor({ timeout: 5000 });
  await auditNames(page, 'the review of a workflow');
  await review.getByRole('button', { name: 'Accept change 1 of src/poem.txt' }).click();
  await review.getByRole('button', { name: 'Reject change 2 of src/poem.txt' }).click();
  // The rejected hunk is the one shown and highlighted in the diff editor.
  await review.locator('.modified .view-lines', { hasText: 'LINE TWELVE, rewritten' }).waitFor({ timeout: 5000 });
  await review.locator('.modified .review-hunk-focus').first().waitFor({ timeout: 5000 });
  await shot(page, 'review-hunks-decided');
  await review.getByRole('button', { name: 'Submit review' }).click();
  await page.getByText(/Review done/).waitFor({ timeout: 30000 });
  await page.locator('.workflow .status', { hasText: 'completed' }).first().waitFor({ timeout: 30000 });
  const committed = git('show', 'HEAD:src/poem.txt');
  const expected = POEM.replace('line 1 of the poem', 'LINE ONE, rewritten');
  if (committed !== expected) throw new Error(`the commit holds ${JSON.stringify(committed)}, not only the accepted hunk`);
  const onDisk = readFileSync(join(projectDir, 'src/poem.txt'), 'utf8');
  if (onDisk !== expected) throw new Error(`the rejected hunk was not put back: ${JSON.stringify(onDisk)}`);
  await shot(page, 'review-committed');

  // Export downloads a zip that unzip accepts.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Models', exact: true }).waitFor();
  await auditNames(page, 'the settings');
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'All projects' }).click();
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export e2e app' }).click();
  const download = await downloadPromise;
  const zip = join(work, 'export.zip');
  await download.saveAs(zip);
  const listing = execFileSync('unzip', ['-t', zip]).toString();
  if (!listing.includes('src/greet.txt') || !listing.includes('No errors')) throw new Error(listing);
  await shot(page, 'exported');

  // Kill the server and start it again on the same port: the UI reconnects and shows the chat once.
  await page.getByRole('button', { name: 'Open e2e app' }).click();
  await page.getByText('Hi there!').waitFor();
  server.child.kill('SIGKILL');
  await page.getByRole('button', { name: 'Retry now' }).waitFor({ timeout: 10000 });
  await shot(page, 'connection-lost');
  server = await start(ATELIER, ['serve', '--bind', `127.0.0.1:${port}`, ...serveArgs.slice(3)], /open http/, env);
  await page.getByRole('button', { name: 'Retry now' }).click().catch(() => undefined);
  await page.getByRole('button', { name: 'Retry now' }).waitFor({ state: 'detached', timeout: 15000 });
  await page.getByText('Hi there!').waitFor();
  await page.waitForTimeout(1000);
  const copies = await page.getByText('Hi there!').count();
  if (copies !== 1) throw new Error(`the reply shows ${copies} times after the reconnect`);
  await shot(page, 'reconnected');

  // Typing while ~100 KB/s of tokens stream in: input delay per key and the longest frame.
  await page.evaluate(() => {
    const perf = { keys: [], frames: [], on: true };
    window.__perf = perf;
    let last = performance.now();
    const loop = (t) => {
      perf.frames.push(t - last);
      last = t;
      if (perf.on) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    document.querySelector('textarea[aria-label="Message"]').addEventListener('keydown', (e) => perf.keys.push(performance.now() - e.timeStamp));
  });
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('stream fast');
  await box.press('Control+Enter');
  await page.getByText('writing…').waitFor({ timeout: 15000 });
  const profiler = await startProfile(page);
  const streamStart = Date.now();
  await box.pressSequentially('typing while the reply streams in', { delay: 40 });
  const typed = await box.inputValue();
  if (typed !== 'typing while the reply streams in') throw new Error(`typed text was lost: ${typed}`);
  await page.locator('.msg.assistant.complete .plain').waitFor({ timeout: 60000 });
  const streamSeconds = (Date.now() - streamStart) / 1000;
  await stopProfile(profiler, 'stream');
  const perf = await page.evaluate(() => {
    window.__perf.on = false;
    return window.__perf;
  });
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  timings.stream_kb_per_s = Math.round(500 / streamSeconds);
  timings.typing_input_delay_p50_ms = Math.round(pct(perf.keys, 0.5));
  timings.typing_input_delay_p99_ms = Math.round(pct(perf.keys, 0.99));
  timings.stream_frame_p99_ms = Math.round(pct(perf.frames, 0.99));
  timings.stream_frame_max_ms = Math.round(Math.max(...perf.frames));
  await box.fill('');
  await shot(page, 'typing-during-stream');

  // A 10,000-message session: written straight into the database, then opened and scrolled.
  execFileSync('python3', [join(here, 'seed_session.py'), join(dataDir, 'atelier.db'), '10000']);
  const openStart = Date.now();
  // The reload reopens the project the tab had open (then its newest session, the long one).
  await page.reload();
  await page.getByText('message 9999 of the long session').waitFor({ timeout: 20000 });
  timings.long_session_open_ms = Date.now() - openStart;
  const scrollProfile = await startProfile(page);
  const frames = await page.evaluate(async () => {
    const el = document.querySelector('.messages');
    const gaps = [];
    let last = performance.now();
    for (let i = 0; i < 120; i++) {
      el.scrollTop = Math.max(0, el.scrollTop - 400);
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    return { gaps, rendered: document.querySelectorAll('.messages .msg').length };
  });
  await stopProfile(scrollProfile, 'long-session-scroll');
  timings.long_session_scroll_frame_p95_ms = Math.round(pct(frames.gaps, 0.95));
  timings.long_session_scroll_frame_max_ms = Math.round(Math.max(...frames.gaps));
  timings.long_session_rendered_messages = frames.rendered;
  if (frames.rendered > 100) throw new Error(`${frames.rendered} messages in the DOM: the list is not virtualized`);
  await shot(page, 'long-session');

  // Settings: a model per agent role, kept by the server.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('combobox', { name: 'Coders (write files)' }).selectOption('test-model');
  await page.waitForTimeout(300);
  await page.reload();
  await page.getByRole('button', { name: 'Settings' }).click();
  const coder = page.getByRole('combobox', { name: 'Coders (write files)' });
  await page.waitForFunction(() => document.querySelector('select[aria-label="Coders (write files)"]')?.value === 'test-model', null, { timeout: 10000 });
  if ((await coder.inputValue()) !== 'test-model') throw new Error('the coder model setting was not kept');
  await shot(page, 'settings');

  // The OS switches to dark: the page follows at once (no reload), the editor and the terminal too.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  const colours = () =>
    page.evaluate(() => ({
      page: getComputedStyle(document.body).backgroundColor,
      editor: getComputedStyle(document.querySelector('.monaco-editor .monaco-editor-background') ?? document.body).backgroundColor,
      theme: document.documentElement.dataset.theme,
    }));
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)', null, { timeout: 5000 });
  await page.waitForFunction(() => getComputedStyle(document.querySelector('.monaco-editor .monaco-editor-background')).backgroundColor === 'rgb(13, 17, 23)', null, { timeout: 5000 });
  await shot(page, 'dark-theme');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)', null, { timeout: 5000 });
  await page.waitForFunction(() => getComputedStyle(document.querySelector('.monaco-editor .monaco-editor-background')).backgroundColor === 'rgb(255, 255, 255)', null, { timeout: 5000 });
  await shot(page, 'light-theme');
  // Dark chosen in Settings wins over the light system, from the first paint of the next load.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('radiogroup', { name: 'Theme' }).getByRole('radio', { name: 'Dark' }).check();
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)', null, { timeout: 5000 });
  await page.reload({ waitUntil: 'domcontentloaded' });
  const firstPaint = await page.evaluate(() => document.documentElement.dataset.theme);
  if (firstPaint !== 'dark') throw new Error(`the chosen theme was not applied before the first paint: ${firstPaint}`);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('radiogroup', { name: 'Theme' }).waitFor({ timeout: 10000 });
  await shot(page, 'theme-override-dark');
  // The palette switches it back to following the system.
  await page.keyboard.press('Control+Shift+P');
  await page.keyboard.type('follow the system');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)', null, { timeout: 5000 });
  const after = await colours();
  if (after.theme !== 'light') throw new Error(`System under a light OS gave ${JSON.stringify(after)}`);

  // A chat with tools, in a project of its own: the agent asks to run a command, waits for the
  // person, runs it after Allow, shows its output folded under the call, and answers from it.
  await page.getByRole('button', { name: 'Settings' }).click();
  await box.waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: 'All projects' }).click();
  await page.getByRole('button', { name: 'New project' }).click();
  await page.getByRole('textbox', { name: 'Project name' }).fill('tools app');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('.about-agent').first().waitFor({ timeout: 10000 });
  const toolsProject = (await rpc(origin, 'projects.list')).find((p) => p.name === 'tools app');
  if (!toolsProject) throw new Error('the tools project is not listed');
  writeFileSync(join(toolsProject.path, 'notes.txt'), 'a file the agent may read\n');
  const toolsSwitch = page.getByRole('switch', { name: 'Tools' });
  if (await toolsSwitch.isChecked()) throw new Error('a new chat started with tools on');
  await toolsSwitch.click();
  await page.waitForFunction(() => {
    const s = document.querySelector('input[aria-label="Tools"]');
    return s?.checked && !s.disabled;
  }, null, { timeout: 10000 });
  const [toolsSession] = await rpc(origin, 'sessions.list', { project_id: toolsProject.id });
  if (!toolsSession?.tools) throw new Error(`the Tools switch was not kept: ${JSON.stringify(toolsSession)}`);
  await box.fill('please run the echo tool');
  await box.press('Control+Enter');
  const callView = page.getByRole('group', { name: /^Tool call run_command: echo tool-ran/ });
  await callView.locator('.chip.status-waiting', { hasText: 'waiting for approval' }).waitFor({ timeout: 20000 });
  // Between two model steps nothing streams, yet Stop can end the loop.
  if (await page.getByRole('button', { name: 'Stop' }).isDisabled()) throw new Error('Stop is disabled while a call waits');
  await auditNames(page, 'a chat with a call waiting for approval');
  await shot(page, 'tool-call-waiting');
  await callView.getByRole('button', { name: 'Allow', exact: true }).click();
  await callView.locator('.chip.status-ok').waitFor({ timeout: 30000 });
  if (await callView.getByRole('button', { name: 'Allow', exact: true }).count()) throw new Error('the approval buttons stayed after Allow');
  await page.locator('.msg.assistant', { hasText: 'Done: the command printed tool-ran' }).waitFor({ timeout: 20000 });
  // The tool message is folded into its call, not a bubble of its own; its result opens on request.
  if (await page.locator('.msg.tool').count()) throw new Error('the tool message shows as a chat bubble');
  await callView.getByRole('button', { name: 'Show the result of run_command' }).click();
  await callView.getByLabel('Result of run_command').filter({ hasText: 'tool-ran' }).waitFor({ timeout: 5000 });
  await shot(page, 'tool-call-allowed');
  // Allow (not Always allow) leaves nothing remembered for the project.
  const remembered = await rpc(origin, 'tools.allowed', { project_id: toolsProject.id });
  if (remembered.length) throw new Error(`Allow was remembered: ${JSON.stringify(remembered)}`);
  // Back to the first project, Settings open (as the next step expects); it lists the tool settings.
  await page.getByRole('button', { name: 'All projects' }).click();
  await page.getByRole('button', { name: 'Open e2e app' }).click();
  await box.waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('switch', { name: 'Run commands without asking' }).waitFor({ timeout: 10000 });

  // No model server: the reply fails and the UI says why, in the server's words (nothing made up).
  testkit.kill('SIGKILL');
  await page.getByRole('button', { name: 'Settings' }).click();
  // The open project survived the reload.
  await box.waitFor();
  await box.fill('anyone there?');
  await box.press('Control+Enter');
  const failure = page.locator('.msg.assistant.failed .error').last();
  await failure.waitFor({ timeout: 60000 });
  const why = await failure.textContent();
  if (!why || why.length < 10) throw new Error(`the failed reply does not say why: ${why}`);
  console.log(`   model unreachable → "${why.slice(0, 120)}"`);
  await shot(page, 'model-unreachable');

  await firstRun();

  // Failed requests during the planned outage are expected; anything else is a defect.
  const real = problems.filter((p) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|status of 40[13]/.test(p));
  if (real.length) throw new Error(`problems:\n${real.join('\n')}`);
  console.log(`timings: ${JSON.stringify(timings)}`);
  await browser.close();
}

main()
  .then(() => {
    console.log(`e2e: all ${step} steps passed; screenshots in ${artifacts}`);
  })
  .catch(async (e) => {
    console.error(`e2e FAILED at step ${step + 1}: ${e.stack ?? e}`);
    if (problems.length) console.error(problems.join('\n'));
    const classes = await page?.evaluate(() => [...document.querySelectorAll('.msg')].map((m) => `${m.className}:${m.querySelector(".body")?.firstElementChild?.tagName}:${m.textContent.length}`)).catch(() => []);
    console.error(`messages shown: ${JSON.stringify(classes)}`);
    const firstRun = await firstRunPage
      ?.evaluate(() => [...document.querySelectorAll('.msg')].map((m) => `${m.className}: ${m.textContent.slice(0, 200)}`))
      .catch(() => []);
    if (firstRun?.length) console.error(`first-run tab's messages: ${JSON.stringify(firstRun)}`);
    await page?.screenshot({ path: join(artifacts, 'failure.png') }).catch(() => undefined);
    process.exitCode = 1;
  })
  .finally(async () => {
    await browser?.close().catch(() => undefined);
    for (const c of children) c.kill('SIGKILL');
    // The data folder, project and downloads of this run (ATELIER_E2E_KEEP=1 keeps them to look at).
    if (!process.env.ATELIER_E2E_KEEP) setTimeout(() => rmSync(work, { recursive: true, force: true }), 500);
    else console.log(`kept ${work}`);
    void readFileSync;
  });
