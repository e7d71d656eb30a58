import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MessageView } from './Chat';
import type { Message } from '../protocol/generated';

afterEach(cleanup);

const message = (patch: Partial<Message>): Message => ({
  id: 'm1',
  session_id: 's1',
  role: 'assistant',
  content: '',
  status: 'complete',
  created_at: '2026-11-23T00:00:00.000Z',
  reasoning: '',
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

  it('says a reply is being written, stopped, or failed with the reason', () => {
    const { rerender } = render(<MessageView message={message({ status: 'streaming', content: 'Hel' })} />);
    expect(screen.getByText(/writing/)).toBeTruthy();
    rerender(<MessageView message={message({ status: 'failed', error: 'No model server is reachable at http://127.0.0.1:11434.' })} />);
    expect(screen.getByRole('alert').textContent).toContain('No model server is reachable');
  });
});

describe('ConnectionBanner', () => {
  it('shows the retry countdown and attempt, and Retry now reconnects', async () => {
    vi.resetModules();
    const retryNow = vi.fn();
    vi.doMock('../api', () => ({
      client: { retryNow },
      token: null,
      useConnection: () => ({ status: 'reconnecting', attempt: 4, retryAt: Date.now() + 3000, lastError: null }),
      useLoad: () => ({ data: undefined, error: null, reload: () => undefined }),
      useTopic: () => undefined,
      errorText: String,
    }));
    const { ConnectionBanner } = await import('../App');
    render(<ConnectionBanner />);
    expect(screen.getByRole('alert').textContent).toMatch(/Connection lost — retrying in 3 s \(attempt 4\)/);
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    expect(retryNow).toHaveBeenCalledOnce();
    vi.doUnmock('../api');
  });
});
