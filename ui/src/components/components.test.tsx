import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MessageView } from './Chat';
import type { Message } from '../protocol/generated';

afterEach(cleanup);
// Importing the app loads code that probes for a canvas context: jsdom has none.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

const message = (patch: Partial<Message>): Message => ({
  id: 'm1',
  session_id: 's1',
  role: 'assistant',
  content: '',
  status: 'complete',
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
  tool_calls: [],
  ...patch,
});

describe('MessageView', () => {
  it('renders markdown with highlighted, copyable code', () => {
    render(<MessageView message={message({ content: 'Use **this**:\n\n```rust\nfn main() {}\n```' })} />);
    expect(screen.getByText('this').tagName).toBe('STRONG');
    const code = document.querySelector('pre code');
    expect(code?.className).toContain('language-rust');
    expect(code?.querySelector('.hljs-keyword')?.textContent).toBe('fn');
    expect(screen.getByRole('button', { name: 'Copy code' })).toBeTruthy();
  });

  it('opens links in a new tab without a referrer (the browser build)', () => {
    render(<MessageView message={message({ content: 'See [the docs](https://example.com/docs).' })} />);
    const link = screen.getByRole('link', { name: 'the docs' });
    expect(link.getAttribute('href')).toBe('https://example.com/docs');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toBe('noreferrer');
  });

  it('says a reply is being written, stopped, or failed with the reason', () => {
    const { rerender } = render(<MessageView message={message({ status: 'streaming', content: 'Hel' })} />);
    expect(screen.getByText(/writing/)).toBeTruthy();
    rerender(<MessageView message={message({ status: 'failed', error: 'No model server is reachable at http://127.0.0.1:11434.' })} />);
    expect(screen.getByRole('alert').textContent).toContain('No model server is reachable');
  });
});

/** `../App` with a stand-in for `../api` (the browser build: no Tauri). */
async function appWith(api: { connection?: object; projects?: object[]; token?: string | null }) {
  vi.resetModules();
  const retryNow = vi.fn();
  vi.doMock('../api', () => ({
    client: { retryNow },
    desktop: false,
    token: api.token ?? null,
    useConnection: () => api.connection ?? { status: 'open', attempt: 0, retryAt: null, lastError: null, tokenRefused: false },
    useLoad: () => ({ data: api.projects, error: null, reload: () => undefined }),
    useTopic: () => undefined,
    errorText: String,
  }));
  const app = await import('../App');
  vi.doUnmock('../api');
  return { ...app, retryNow };
}

describe('ConnectionBanner', () => {
  it('shows the retry countdown and attempt, and Retry now reconnects', async () => {
    const { ConnectionBanner, retryNow } = await appWith({
      connection: { status: 'reconnecting', attempt: 4, retryAt: Date.now() + 3000, lastError: null, tokenRefused: false },
    });
    render(<ConnectionBanner />);
    expect(screen.getByRole('alert').textContent).toMatch(/Connection lost — retrying in 3 s \(attempt 4\)/);
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    expect(retryNow).toHaveBeenCalledOnce();
  });

  it('says when the server refused the access token instead of counting down', async () => {
    const { ConnectionBanner, retryNow } = await appWith({
      connection: { status: 'reconnecting', attempt: 1, retryAt: null, lastError: 'refused', tokenRefused: true },
    });
    render(<ConnectionBanner />);
    const banner = screen.getByRole('alert');
    expect(banner.textContent).toContain('The access token was refused: open the link atelier serve printed');
    expect(banner.textContent).not.toMatch(/retrying/);
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    expect(retryNow).toHaveBeenCalledOnce();
  });
});

describe('ProjectList in the browser', () => {
  it('exports through the server’s download link, with the token, and offers no folder dialog', async () => {
    const project = { id: 'prj_1', name: 'demo', path: '/tmp/demo', created_at: '2026-11-23T00:00:00.000Z' };
    const { ProjectList } = await appWith({ projects: [project], token: 's3cr+t' });
    render(<ProjectList onOpen={() => undefined} />);
    const link = screen.getByRole('link', { name: 'Export demo' });
    expect(link.getAttribute('href')).toBe('/download/prj_1?token=s3cr%2Bt');
    expect(link.hasAttribute('download')).toBe(true);
    expect(screen.queryByRole('button', { name: 'Choose a folder to import' })).toBeNull();
  });
});
