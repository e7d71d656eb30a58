// Desktop end-to-end test: the real atelier-desktop binary (engine in-process, UI over Tauri
// IPC) under Xvfb, driven through Debian's WebKitWebDriver, with the scripted model server.
// The window opens with the Atelier UI in the system's fonts; Ctrl+=/Ctrl+0 zoom; a project is created; a chat reply streams; a terminal
// runs `echo`; the app listens on no TCP port while its embedded server is off; switched on
// in Settings, the server answers with the token Settings shows; making it reachable from other
// machines waits for the native question's answer (xdotool answers it) and then names an address
// of this machine that answers; it stops when switched off; an unsaved edit survives a visit to
// Settings, and closing the window asks about it (declined: the window stays); launched with a
// folder, the app opens it as a project. Screenshots go to
// e2e/artifacts/desktop-*.png. Run under a display: `xvfb-run -a npm run e2e:desktop`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { By, Key, until } from 'selenium-webdriver';
import { answerDialog, appPids, dialogCount, dialogOpen, freePort, launch, requestClose, startDriver, startTestkit, treeRss, windowTitled } from './webkit.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME, '.cache/atelier-target');
const DESKTOP = process.env.ATELIER_DESKTOP_BIN ?? join(target, 'debug/atelier-desktop');
const TESTKIT = process.env.ATELIER_TESTKIT_BIN ?? join(target, 'debug/atelier-testkit');
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
for (const old of readdirSync(artifacts).filter((f) => f.startsWith('desktop-'))) rmSync(join(artifacts, old));
const work = mkdtempSync(join(tmpdir(), 'atelier-desktop-e2e-'));
const data = join(work, 'data');
const children = [];

if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  console.error('e2e:desktop needs a display; run it as `xvfb-run -a npm run e2e:desktop`');
  process.exit(2);
}

writeFileSync(
  join(work, 'script.json'),
  JSON.stringify({ routes: [{ when: 'say hi', reply: 'Hi from the desktop! Here is **bold** text.', delay_ms: 15 }] }),
);

let step = 0;
/**
 * WebKit takes a screenshot at the next rendering update, and under Xvfb an idle page has none:
 * a 1-pixel, invisible element that changes every 30 ms gives it one (test only).
 */
const TICKER = `if (!window.__e2eTicker) {
  const e = document.createElement('div');
  e.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none';
  document.body.appendChild(e);
  let i = 0;
  window.__e2eTicker = setInterval(() => { e.style.background = i++ % 2 ? 'rgba(0,0,0,0.01)' : 'transparent'; }, 30);
}`;

async function shot(driver, name) {
  step += 1;
  await driver.executeScript(TICKER);
  const png = await Promise.race([driver.takeScreenshot(), new Promise((r) => setTimeout(() => r(null), 10000))]);
  if (png === null) throw new Error(`the screenshot of step ${step} (${name}) did not come within 10 s`);
  writeFileSync(join(artifacts, `desktop-${String(step).padStart(2, '0')}-${name}.png`), Buffer.from(png, 'base64'));
  console.log(`ok ${step} - ${name}`);
}

/** A control found by its accessible name (aria-label or its text). */
function named(tag, name) {
  return By.xpath(`//${tag}[@aria-label=${JSON.stringify(name)} or normalize-space(.)=${JSON.stringify(name)}]`);
}

async function waitText(driver, css, text, timeout = 15000) {
  await driver.wait(async () => {
    const found = await driver.executeScript(
      (sel, want) => [...document.querySelectorAll(sel)].some((e) => (e.textContent ?? '').includes(want)),
      css,
      text,
    );
    return found === true;
  }, timeout, `"${text}" did not appear in ${css}`);
}

/** The TCP sockets in LISTEN state on this machine: inode → port. */
function listening() {
  const ports = new Map();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') ports.set(cols[9], parseInt(cols[1].split(':').pop(), 16));
    }
  }
  return ports;
}

/**
 * The ports the processes running `binary` listen on, except WebKit's inspector server, which
 * WebKitWebDriver asks the app to open (WEBKIT_INSPECTOR_SERVER) to drive it.
 */
function listeningPorts(binary) {
  const sockets = listening();
  const ports = [];
  for (const pid of appPids(binary)) {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const inspector = Number(environ.find((v) => v.startsWith('WEBKIT_INSPECTOR_SERVER='))?.split(':').pop());
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        const port = inode && sockets.get(inode);
        if (port && port !== inspector) ports.push(port);
      } catch {
        // The descriptor closed while being read.
      }
    }
  }
  return ports;
}

/** The first file named `name` under `dir`. */
function findFile(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory() && !entry.isSymbolicLink()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return null;
}

let driver;
let webdriver;
const timings = {};
try {
  const testkit = await startTestkit(TESTKIT, ['--script', join(work, 'script.json')]);
  children.push(testkit.child);
  const llm = testkit.url;
  webdriver = await startDriver({
    ATELIER_DATA_DIR: data,
    OLLAMA_HOST: llm,
    ATELIER_MODEL: 'test-model',
  });
  children.push(webdriver.child);

  const t0 = Date.now();
  driver = await launch(webdriver.url, DESKTOP);
  await driver.wait(until.elementLocated(named('button', 'New project')), 30000, 'the UI did not load');
  timings.start_to_interactive_ms = Date.now() - t0;
  if ((await driver.getTitle()) !== 'Atelier') throw new Error(`the window's title is ${await driver.getTitle()}`);
  const ipc = await driver.executeScript(() => '__TAURI_INTERNALS__' in window);
  if (ipc !== true) throw new Error('the UI does not run inside the Tauri shell');
  // On Linux the page asks for fontconfig's default fonts only: each family of a list that the
  // machine lacks costs WebKitGTK font matches again and again (7,352 on the first screen,
  // ~50 ms of start-up; docs/benchmarks.md 2026-12-07).
  const fonts = await driver.executeScript(() => [getComputedStyle(document.body).fontFamily, getComputedStyle(document.documentElement).getPropertyValue('--font-mono').trim()]);
  if (fonts[0] !== 'sans-serif' || fonts[1] !== 'monospace') throw new Error(`the page's fonts are ${JSON.stringify(fonts)}, not fontconfig's defaults`);
  await shot(driver, 'window-opened');

  // Ctrl+= zooms the page in (Tauri's zoom hotkeys), Ctrl+0 back.
  const cssWidth = () => driver.executeScript(() => window.innerWidth);
  const unzoomed = await cssWidth();
  await driver.actions().keyDown(Key.CONTROL).sendKeys('=').keyUp(Key.CONTROL).perform();
  await driver.wait(async () => (await cssWidth()) < unzoomed, 5000, 'Ctrl+= did not zoom in');
  await driver.actions().keyDown(Key.CONTROL).sendKeys('0').keyUp(Key.CONTROL).perform();
  await driver.wait(async () => (await cssWidth()) === unzoomed, 5000, 'Ctrl+0 did not zoom back');

  await driver.findElement(named('button', 'New project')).click();
  await driver.wait(until.elementLocated(By.css('input[aria-label="Project name"]')), 5000);
  await driver.findElement(By.css('input[aria-label="Project name"]')).sendKeys('desktop app');
  await driver.findElement(named('button', 'Create')).click();
  const message = await driver.wait(until.elementLocated(By.css('textarea[aria-label="Message"]')), 15000, 'the workspace did not open');
  // The native window's title names the open project.
  const TITLE = 'desktop app — Atelier';
  await driver.wait(async () => windowTitled(TITLE), 10000, `no window titled "${TITLE}"`);
  await shot(driver, 'project-created');

  await message.sendKeys('say hi');
  await driver.findElement(named('button', 'Send')).click();
  await waitText(driver, '.msg.assistant', 'Hi from the desktop!');
  await driver.wait(until.elementLocated(By.xpath("//*[contains(@class,'msg') and contains(@class,'assistant')]//strong[normalize-space(.)='bold']")), 5000);
  await shot(driver, 'chat-streamed');

  await driver.findElement(named('button', 'New terminal')).click();
  const host = await driver.wait(until.elementLocated(By.css('.xterm-host')), 10000, 'no terminal appeared');
  await driver.sleep(500);
  await host.click();
  const input = await driver.findElement(By.css('.xterm-helper-textarea'));
  await input.sendKeys('echo hello-$((6*7))-desktop | tee notes.txt\n');
  await waitText(driver, '.xterm-host', 'hello-42-desktop', 10000);
  await shot(driver, 'terminal-echo');

  // An unsaved edit, which must survive a visit to Settings and be asked about on closing.
  await driver.wait(until.elementLocated(named('button', 'Open file notes.txt')), 10000, 'notes.txt did not appear in the tree').click();
  await waitText(driver, '.monaco .view-lines', 'hello-42-desktop', 15000);
  await driver.findElement(By.css('.monaco .view-lines')).click();
  await (await driver.switchTo().activeElement()).sendKeys(Key.END, ' draft');
  const dirtyTab = named('button', 'notes.txt •');
  await driver.wait(until.elementLocated(dirtyTab), 5000, 'the edit did not mark the tab unsaved');

  // The UI talks to the engine over IPC: with the embedded server off, nothing listens.
  const ports = listeningPorts(DESKTOP);
  if (ports.length) throw new Error(`the desktop app listens on TCP port(s) ${ports.join(', ')} with its server off`);
  const memory = treeRss(DESKTOP);
  timings.rss_mib = Math.round(memory.bytes / 1048576);
  timings.processes = memory.processes.length;

  // Settings → Embedded server: a browser can then reach the same engine with the token shown.
  await driver.findElement(named('button', 'Settings')).click();
  const portBox = await driver.wait(until.elementLocated(By.css('input[aria-label="Port"]')), 10000, 'no server settings');
  const port = await freePort();
  await portBox.clear();
  await portBox.sendKeys(String(port), Key.ENTER);
  await driver.findElement(By.css('input[aria-label="Embedded server"]')).click();
  const tokenShown = await driver.wait(until.elementLocated(By.css('code[aria-label="Access token"]')), 10000);
  await driver.wait(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0)) === 200, 10000, `nothing answers on port ${port}`);
  const token = (await tokenShown.getText()).trim();
  const check = await fetch(`http://127.0.0.1:${port}/auth/check?token=${encodeURIComponent(token)}`);
  if (check.status !== 204) throw new Error(`the token Settings shows was refused: ${check.status}`);
  const projects = await fetch(`http://127.0.0.1:${port}/download/none?token=${encodeURIComponent(token)}`);
  if (projects.status !== 404) throw new Error(`the embedded server answered ${projects.status} for an unknown project`);
  await shot(driver, 'server-on');

  // Reachable from other machines: asked first in a native dialog whose answer is waited for
  // (Cancel changes nothing); then Settings and the bar name an address of this machine (not
  // 0.0.0.0) that really answers; "Stop sharing" goes back to loopback.
  const PUBLIC_TITLE = 'Reachable from other machines';
  const sharing = By.xpath("//div[@role='alert' and contains(., 'reachable from other machines')]");
  const reachableBox = () => driver.findElement(By.css('input[aria-label="Reachable from other machines"]'));
  await (await reachableBox()).click();
  await driver.wait(async () => dialogOpen(PUBLIC_TITLE), 10000, 'no question was asked before binding every interface');
  await driver.sleep(1000);
  if ((await driver.findElements(sharing)).length || (await (await reachableBox()).isSelected())) {
    throw new Error('the server went public while the question was still open');
  }
  await answerDialog(PUBLIC_TITLE, ['Escape']);
  await driver.wait(async () => !dialogOpen(PUBLIC_TITLE), 10000, 'the question stayed open after Escape');
  await driver.sleep(1000);
  if ((await driver.findElements(sharing)).length || (await (await reachableBox()).isSelected())) {
    throw new Error('the server went public although the question was declined');
  }
  await (await reachableBox()).click();
  await answerDialog(PUBLIC_TITLE, ['Tab', 'Return']);
  const bar = await driver.wait(until.elementLocated(sharing), 10000, 'no sharing bar after OK');
  const barText = await bar.getText();
  const lan = /http:\/\/(\d+\.\d+\.\d+\.\d+):(\d+)/.exec(barText);
  if (lan) {
    if (lan[1] === '0.0.0.0' || lan[1].startsWith('127.') || Number(lan[2]) !== port) throw new Error(`the bar names ${lan[0]}`);
    const listed = await driver.findElement(By.css('[aria-label="Addresses for other machines"]')).getText();
    if (!listed.includes(lan[0])) throw new Error(`Settings lists ${listed}, the bar ${lan[0]}`);
    const status = await fetch(`${lan[0]}/health`).then((r) => r.status, (e) => String(e));
    if (status !== 200) throw new Error(`${lan[0]}/health answered ${status}`);
  } else if (!/on port \d+ of every network interface/.test(barText)) {
    throw new Error(`the sharing bar names no usable address: ${barText}`);
  }
  await shot(driver, 'server-public');
  await bar.findElement(named('button', 'Stop sharing')).click();
  await driver.wait(async () => (await driver.findElements(sharing)).length === 0, 10000, 'the bar stayed after Stop sharing');
  if (lan) {
    await driver.wait(async () => (await fetch(`${lan[0]}/health`).then(() => 1, () => 0)) === 0, 10000, `${lan[0]} still answers after Stop sharing`);
  }
  await driver.wait(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0)) === 200, 10000, 'loopback stopped answering after Stop sharing');

  await driver.findElement(By.css('input[aria-label="Embedded server"]')).click();
  await driver.wait(async () => (await fetch(`http://127.0.0.1:${port}/health`).then(() => 1, () => 0)) === 0, 10000, 'the server kept listening after it was switched off');
  if (listeningPorts(DESKTOP).length) throw new Error('a port stayed open after the server was switched off');

  if (!existsSync(join(data, 'atelier.db'))) throw new Error('no database in ATELIER_DATA_DIR');
  if (!existsSync(join(data, 'logs'))) throw new Error('no logs in ATELIER_DATA_DIR/logs');

  // Back from Settings, the workspace is as it was: the edit is still there, still unsaved.
  await driver.findElement(named('button', 'Settings')).click();
  await driver.wait(until.elementLocated(dirtyTab), 10000, 'the unsaved edit was lost on the way to Settings and back');
  await waitText(driver, '.monaco .view-lines', 'draft', 5000);

  // Closing the window (as its close button does) asks first; Escape keeps the window and the
  // edit; OK closes the app without saving.
  const UNSAVED = 'Unsaved changes';
  requestClose(TITLE);
  await driver.wait(async () => dialogOpen(UNSAVED), 10000, 'closing with an unsaved edit asked nothing');
  requestClose(TITLE); // a second click while the question is open asks nothing more
  await driver.sleep(500);
  if (dialogCount(UNSAVED) !== 1) throw new Error(`${dialogCount(UNSAVED)} questions are open after two clicks on close`);
  await answerDialog(UNSAVED, ['Escape']);
  await driver.wait(async () => !dialogOpen(UNSAVED), 10000, 'the question stayed open after Escape');
  await driver.sleep(1000);
  if (!(await driver.findElements(dirtyTab)).length) throw new Error('the window lost the edit although closing was declined');
  await shot(driver, 'close-declined');
  requestClose(TITLE);
  // Its buttons are "Close without saving" then "Cancel": Tab lands on the last, Shift+Tab
  // goes back to the first.
  await answerDialog(UNSAVED, ['Tab', 'shift+Tab', 'Return']);
  await driver.wait(async () => appPids(DESKTOP).length === 0, 15000, 'the app kept running after closing was confirmed');
  const notes = findFile(work, 'notes.txt');
  if (!notes || readFileSync(notes, 'utf8') !== 'hello-42-desktop\n') throw new Error(`notes.txt holds ${notes && JSON.stringify(readFileSync(notes, 'utf8'))}`);
  console.log(`ok ${++step} - closed-after-asking`);
  await driver.quit().catch(() => {});

  // `atelier-desktop FOLDER` opens that folder as a project (the same data folder as before).
  const folder = join(work, 'launched-folder');
  mkdirSync(folder);
  writeFileSync(join(folder, 'from-the-command-line.txt'), 'hi\n');
  driver = await launch(webdriver.url, DESKTOP, [folder]);
  await driver.wait(until.elementLocated(named('button', 'Open file from-the-command-line.txt')), 30000, 'the folder named on the command line did not open');
  const crumb = await driver.findElement(By.css('.topbar .crumb')).getText();
  if (crumb !== 'launched-folder') throw new Error(`the open project is ${crumb}`);
  await shot(driver, 'folder-from-command-line');

  await driver.quit().catch(() => {});
  driver = null;
  console.log(`timings: ${JSON.stringify(timings)}`);
  console.log(`e2e:desktop: all ${step} steps passed; screenshots in ${artifacts}`);
} catch (e) {
  if (driver) await shot(driver, 'failure').catch(() => {});
  console.error(`not ok - ${e?.stack ?? e}`);
  if (webdriver) console.error(`WebKitWebDriver log:\n${webdriver.log().slice(-3000)}`);
  process.exitCode = 1;
} finally {
  if (driver) await driver.quit().catch(() => {});
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
