import { afterEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { TauriTransport, authCheckUrl, takeToken } from './transport';

afterEach(() => {
  window.sessionStorage.clear();
  window.history.replaceState(null, '', '/');
});

describe('takeToken', () => {
  it('takes the token from #token=…, keeps it in sessionStorage and removes it from the address bar', () => {
    window.history.replaceState(null, '', '/some/route?x=1#token=s3cr%2Bt');
    expect(takeToken()).toBe('s3cr+t');
    expect(window.location.hash).toBe('');
    expect(window.location.pathname + window.location.search).toBe('/some/route?x=1');
    expect(window.sessionStorage.getItem('atelier.token')).toBe('s3cr+t');
    // A reload (no fragment any more) still has it.
    expect(takeToken()).toBe('s3cr+t');
  });

  it('has no token when none was ever given', () => {
    expect(takeToken()).toBeNull();
  });

  it('accepts the token among other fragment parameters', () => {
    window.history.replaceState(null, '', '/#a=1&token=abc');
    expect(takeToken()).toBe('abc');
  });
});

describe('authCheckUrl', () => {
  it('asks the server the WebSocket goes to, with the same token', () => {
    expect(authCheckUrl('ws://127.0.0.1:7777/ws?token=a%2Bb')).toBe('http://127.0.0.1:7777/auth/check?token=a%2Bb');
    expect(authCheckUrl('wss://atelier.example:8443/ws?token=t')).toBe('https://atelier.example:8443/auth/check?token=t');
  });
});

describe('TauriTransport', () => {
  afterEach(() => clearMocks());

  /** A transport whose `rpc` command answers each request with `answer(request)`. */
  async function transport(answer: (request: { id: number }) => unknown) {
    const requests: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'events') return null;
      const request = JSON.parse((args as { request: string }).request) as { id: number };
      requests.push(request);
      return answer(request);
    });
    const messages: unknown[] = [];
    const closed: string[] = [];
    const t = new TauriTransport();
    expect(TauriTransport.available()).toBe(true);
    await t.open({ message: (m) => messages.push(m), close: (r) => closed.push(r) });
    return { t, messages, closed, requests };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('takes the response as parsed JSON (the shell’s contract) or as its text (older shells)', async () => {
    let asText = false;
    const { t, messages, requests } = await transport((req) => {
      const response = { jsonrpc: '2.0', id: req.id, result: { pong: true } };
      return asText ? JSON.stringify(response) : response;
    });
    t.send({ jsonrpc: '2.0', id: 1, method: 'system.ping' });
    await settle();
    asText = true;
    t.send({ jsonrpc: '2.0', id: 2, method: 'system.ping' });
    await settle();
    expect(requests).toEqual([expect.objectContaining({ id: 1 }), expect.objectContaining({ id: 2 })]);
    expect(messages).toEqual([
      { jsonrpc: '2.0', id: 1, result: { pong: true } },
      { jsonrpc: '2.0', id: 2, result: { pong: true } },
    ]);
  });

  it('passes a batch’s array of responses on as one message', async () => {
    const { t, messages } = await transport(() => [{ jsonrpc: '2.0', id: 1, result: {} }]);
    t.send([{ jsonrpc: '2.0', id: 1, method: 'system.ping' }]);
    await settle();
    expect(messages).toEqual([[{ jsonrpc: '2.0', id: 1, result: {} }]]);
  });

  it('delivers nothing for a notification, whether answered with null or ""', async () => {
    let answer: unknown = null;
    const { t, messages, closed } = await transport(() => answer);
    t.send({ jsonrpc: '2.0', method: 'system.ping' });
    await settle();
    answer = '';
    t.send({ jsonrpc: '2.0', method: 'system.ping' });
    await settle();
    expect(messages).toEqual([]);
    expect(closed).toEqual([]);
  });

  it('reports a failed invoke as the connection closing', async () => {
    const { t, closed } = await transport(() => {
      throw new Error('the engine stopped');
    });
    t.send({ jsonrpc: '2.0', id: 1, method: 'system.ping' });
    await settle();
    expect(closed).toHaveLength(1);
    expect(closed[0]).toContain('the engine stopped');
  });
});
