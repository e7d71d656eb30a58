import { StrictMode } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { client } from './api';
import './styles.css';
// Keeps <html data-theme> on the theme in force (index.html's inline script set it before the first paint).
import './theme';

// Marks read by the desktop benchmark (ui/e2e/desktop-bench.mjs): where start-up time goes.
performance.mark('atelier:script');
client.start();
const root = document.getElementById('root');
if (root) {
  // The first screen is rendered at once rather than in a scheduled task: it is ready one
  // task sooner (start-up time of the desktop app, see docs/benchmarks.md).
  flushSync(() =>
    createRoot(root).render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  );
  // When the first frame after it starts: the gap to 'atelier:interactive' is work that held
  // the first paint.
  requestAnimationFrame(() => performance.mark('atelier:frame'));
  setTimeout(() => performance.mark('atelier:task'), 0);
}
