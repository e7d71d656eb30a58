/**
 * `@path` and `@codebase` in the chat box: expanded here, before sending, into an attachments
 * block after the person's text (a file's content; the code index's best matches for the
 * message). The block is part of the stored message, so the model sees it on later turns too;
 * the transcript folds it under one line that names what was attached.
 */
import type { CodeHit } from './protocol/generated';

/** Where the person's text ends and the attachments begin. */
export const ATTACH_START = '\n\n<attachments>\n';
const ATTACH_END = '\n</attachments>';
/** The most of one file attached. */
const FILE_CHARS = 20_000;
/** How many of the index's matches `@codebase` attaches. */
const CODEBASE_HITS = 5;

export interface Caller {
  call<T>(method: string, params: unknown): Promise<T>;
}

/** The mentions in a draft: `@codebase` and `@some/path.ext` (trailing punctuation left out). */
export function mentions(draft: string): string[] {
  const found: string[] = [];
  for (const m of draft.matchAll(/(^|\s)@([^\s@]+)/g)) {
    const name = m[2].replace(/[.,;:!?)\]]+$/, '');
    if (name && !found.includes(name)) found.push(name);
  }
  return found;
}

/** A fence longer than any run of backticks in `text`. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

function block(title: string, text: string): string {
  const f = fence(text);
  return `### ${title}\n${f}\n${text}\n${f}\n`;
}

/**
 * The message to send for `draft`: unchanged without mentions; otherwise the text followed by
 * the attachments. A mention of a file that cannot be read is an error naming it.
 */
export async function expandMentions(client: Caller, projectId: string, draft: string): Promise<string> {
  const names = mentions(draft);
  if (names.length === 0) return draft;
  const parts: string[] = [];
  const question = draft.replace(/(^|\s)@[^\s@]+/g, ' ').replace(/\s+/g, ' ').trim();
  for (const name of names) {
    if (name === 'codebase') {
      const hits = await client.call<CodeHit[]>('code.search', { project_id: projectId, query: question || draft, limit: CODEBASE_HITS });
      for (const hit of hits) {
        let text = hit.snippet;
        try {
          const { content } = await client.call<{ content: string }>('files.read', { project_id: projectId, path: hit.path });
          text = content.split('\n').slice(hit.start_line - 1, hit.end_line).join('\n');
        } catch {
          // Gone since it was indexed: the snippet will do.
        }
        const symbol = hit.symbol ? ` (${hit.symbol})` : '';
        parts.push(block(`Code: ${hit.path} lines ${hit.start_line}-${hit.end_line}${symbol}`, text));
      }
      if (hits.length === 0) parts.push('### Code: nothing in the project matches\n');
      continue;
    }
    let content: string;
    try {
      content = (await client.call<{ content: string }>('files.read', { project_id: projectId, path: name })).content;
    } catch (e) {
      throw new Error(`cannot attach @${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const cut = content.length > FILE_CHARS ? `${content.slice(0, FILE_CHARS)}\n… (cut at ${FILE_CHARS.toLocaleString('en')} characters)` : content;
    parts.push(block(`File: ${name}`, cut));
  }
  return `${draft}${ATTACH_START}${parts.join('\n')}${ATTACH_END}`;
}

/** A stored message split into the person's text and what was attached (with one label each). */
export function splitAttachments(content: string): { text: string; attached: string | null; labels: string[] } {
  const at = content.indexOf(ATTACH_START);
  if (at < 0) return { text: content, attached: null, labels: [] };
  const attached = content.slice(at + ATTACH_START.length).replace(/\n<\/attachments>$/, '');
  const labels = [...attached.matchAll(/^### (?:File|Code): (.+)$/gm)].map((m) => m[1]);
  return { text: content.slice(0, at), attached, labels };
}
