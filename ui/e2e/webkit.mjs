// Driving a Tauri app under WebKitWebDriver (Debian's webkit2gtk-driver): start the driver with
// the app's environment, open a session that launches the app, and measure the app's process
// tree. Shared by the desktop end-to-end test and the desktop benchmark.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder } from 'selenium-webdriver';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts the scripted model server; resolves with the process and its URL. */
export function startTestkit(binary, args = []) {
  const child = spawn(binary, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`the testkit exited ${code}`)));
  });
}

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts WebKitWebDriver; the apps it launches inherit `env` (TAURI_WEBVIEW_AUTOMATION lets
 * the webview be automated). Resolves once the driver answers /status.
 */
export async function startDriver(env = {}) {
  const port = await freePort();
  const child = spawn('WebKitWebDriver', [`--port=${port}`], {
    env: { ...process.env, TAURI_WEBVIEW_AUTOMATION: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited ${child.exitCode}: ${log}`);
    const ready = await fetch(`${url}/status`).then((r) => r.ok, () => false);
    if (ready) return { child, url, log: () => log };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver did not answer on ${url}: ${log}`);
}

/** Opens a session, which launches `binary` with a fresh window. */
export function launch(driverUrl, binary, args = []) {
  return new Builder()
    .usingServer(driverUrl)
    .withCapabilities({ browserName: 'wry', 'webkitgtk:browserOptions': { binary, args } })
    .build();
}

function processes() {
  const all = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces: fields follow the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${name}/exe`);
      } catch {
        // A kernel thread or another user's process.
      }
      all.push({ pid: Number(name), ppid: Number(fields[1]), rss, exe, comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // The process ended while being read.
    }
  }
  return all;
}

/** The ids of the processes running `binary`. */
export function appPids(binary) {
  return processes()
    .filter((p) => p.exe === binary)
    .map((p) => String(p.pid));
}

/**
 * The resident memory of every process running `binary` and all their descendants (WebKit's
 * web and network processes included), in bytes, with the processes counted.
 */
export function treeRss(binary) {
  const all = processes();
  const roots = all.filter((p) => p.exe === binary);
  const seen = new Set(roots.map((p) => p.pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!seen.has(p.pid) && seen.has(p.ppid)) {
        seen.add(p.pid);
        grew = true;
      }
    }
  }
  const tree = all.filter((p) => seen.has(p.pid));
  return { bytes: tree.reduce((sum, p) => sum + p.rss, 0), processes: tree.map((p) => p.comm) };
}

/**
 * Answers the native dialog titled `title` (GTK, outside the webview, so out of WebDriver's
 * reach) by focusing it and typing `keys` with xdotool, e.g. ['Escape'] to cancel or
 * ['Tab', 'Return'] for OK. Fails when no such window appears within `timeout` ms.
 */
export async function answerDialog(title, keys, timeout = 10000) {
  const xdotool = (...args) => execFileSync('xdotool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const deadline = Date.now() + timeout;
  for (;;) {
    let id = '';
    try {
      id = xdotool('search', '--name', `^${title}$`).split('\n')[0];
    } catch {
      // Exit status 1: no such window yet.
    }
    if (id) {
      xdotool('windowfocus', '--sync', id);
      xdotool('key', '--clearmodifiers', ...keys);
      return;
    }
    if (Date.now() > deadline) throw new Error(`no dialog titled “${title}” appeared`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many native windows titled `title` are open. */
export function dialogCount(title) {
  try {
    const ids = execFileSync('xdotool', ['search', '--name', `^${title}$`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return ids.split('\n').filter((id) => id.trim()).length;
  } catch {
    return 0; // Exit status 1: none.
  }
}

/** Whether a native window titled `title` is open. */
export function dialogOpen(title) {
  return dialogCount(title) > 0;
}

/**
 * Clicks the close button of the window titled `title`, as far as the application can tell: a
 * WM_DELETE_WINDOW request (close_window.py, Debian's python3-xlib). Under Xvfb there is no window
 * manager to click.
 */
/** Whether a window titled exactly `title` is shown (its native title, as a window manager reads it). */
export function windowTitled(title) {
  try {
    execFileSync('/usr/bin/python3', [join(here, 'close_window.py'), '--exists', title], { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

export function requestClose(title) {
  // Debian's python3-xlib belongs to Debian's Python, whatever `python3` is first on the PATH.
  execFileSync('/usr/bin/python3', [join(here, 'close_window.py'), title], { stdio: ['ignore', 'ignore', 'pipe'] });
}
