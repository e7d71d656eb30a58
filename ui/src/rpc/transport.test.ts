import { afterEach, describe, expect, it } from 'vitest';
import { takeToken } from './transport';

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
