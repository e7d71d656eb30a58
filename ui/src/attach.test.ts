import { describe, expect, it } from 'vitest';
import { expandMentions, mentions, splitAttachments, type Caller } from './attach';

/** Answers files.read and code.search from a small in-memory project. */
function project(files: Record<string, string>): Caller & { calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  return {
    calls,
    async call<T>(method: string, params: unknown): Promise<T> {
      calls.push([method, params]);
      const p = params as { path?: string; query?: string };
      if (method === 'files.read') {
        if (!(p.path! in files)) throw new Error(`file \`${p.path}\` not found`);
        return { content: files[p.path!] } as T;
      }
      if (method === 'code.search') {
        return [{ path: 'src/lib.rs', start_line: 2, end_line: 3, symbol: 'choose', line: 2, snippet: 'fn choose() {', score: 1 }] as T;
      }
      throw new Error(`unexpected ${method}`);
    },
  };
}

describe('@ mentions in the chat box', () => {
  it('finds paths and @codebase, without trailing punctuation', () => {
    expect(mentions('look at @src/lib.rs, and @codebase.')).toEqual(['src/lib.rs', 'codebase']);
    expect(mentions('mail me at a@b.c')).toEqual([]);
  });

  it('leaves a message without mentions as it is', async () => {
    const p = project({});
    expect(await expandMentions(p, 'prj', 'hello')).toBe('hello');
    expect(p.calls).toEqual([]);
  });

  it('attaches a file and the best matches, and folds them under one line', async () => {
    const p = project({ 'src/lib.rs': 'line 1\nfn choose() {\n}\n', 'README.md': 'uses ``` fences' });
    const sent = await expandMentions(p, 'prj', 'why @README.md and @codebase how is choose called');
    expect(p.calls).toContainEqual(['code.search', { project_id: 'prj', query: 'why and how is choose called', limit: 5 }]);
    const shown = splitAttachments(sent);
    expect(shown.text).toBe('why @README.md and @codebase how is choose called');
    expect(shown.labels).toEqual(['README.md', 'src/lib.rs lines 2-3 (choose)']);
    // The chunk's lines as the file has them, in a fence longer than the file's own.
    expect(shown.attached).toContain('fn choose() {\n}');
    expect(shown.attached).toContain('````\nuses ``` fences\n````');
  });

  it('says which mention could not be attached', async () => {
    await expect(expandMentions(project({}), 'prj', 'see @missing.rs')).rejects.toThrow('cannot attach @missing.rs');
  });
});
