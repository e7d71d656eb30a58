/**
 * What the first screen does not need waits for its first frame: the status bar, the first-run
 * check, the sandbox and sharing banners' status, the native menu and title, the folder named on
 * the command line and what the shell asks before closing. In the desktop app every call to the engine
 * at start-up is a message through the shell, and WebKit drew the first frame only after them
 * (docs/benchmarks.md, 2026-12-07).
 */
import { useEffect, useState } from 'react';

let drawn = false;
let waiting: Promise<void> | null = null;

/** Resolves once the first frame after start-up has been drawn (at once where frames are not). */
export function afterFirstFrame(): Promise<void> {
  if (drawn) return Promise.resolve();
  waiting ??= new Promise<void>((resolve) => {
    const done = () => {
      drawn = true;
      resolve();
    };
    if (typeof requestAnimationFrame !== 'function') done();
    // A task after the frame's callbacks: the frame itself is drawn by then.
    else requestAnimationFrame(() => setTimeout(done, 0));
  });
  return waiting;
}

/** False until the first frame has been drawn. */
export function useFirstFrameDrawn(): boolean {
  const [ready, setReady] = useState(drawn);
  useEffect(() => {
    if (ready) return;
    let live = true;
    void afterFirstFrame().then(() => live && setReady(true));
    return () => {
      live = false;
    };
  }, [ready]);
  return ready;
}
