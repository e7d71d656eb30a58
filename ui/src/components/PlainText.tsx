/** A long text shown in fixed slices: appending to it lays out only its last slice again. */
import { memo } from 'react';

const CHUNK = 8192;

/** One fixed slice of a long text: unchanged slices are not rendered again. */
const Chunk = memo(function Chunk({ text }: { text: string }) {
  return <div>{text}</div>;
});

/** Where the slice starting at `at` ends: after a newline, else after a space, near `at + CHUNK`. */
function sliceEnd(text: string, at: number): number {
  const limit = at + CHUNK;
  if (limit >= text.length) return text.length;
  const tail = text.slice(limit - 2048, limit);
  const newline = tail.lastIndexOf('\n');
  if (newline >= 0) return limit - 2048 + newline + 1;
  const space = tail.lastIndexOf(' ');
  if (space >= 0) return limit - 2048 + space + 1;
  // Never split a surrogate pair between two text nodes.
  return /[\uD800-\uDBFF]/.test(text[limit - 1]) ? limit + 1 : limit;
}

/**
 * A long text as blocks of about 8 KiB, cut after a newline or a space. As a reply streams in,
 * only the last block changes: the browser lays out that block again, not the whole reply
 * (one paragraph of 500 KB took most of every frame).
 */
export function PlainText({ text }: { text: string }) {
  const chunks: string[] = [];
  for (let at = 0; at < text.length; ) {
    const end = sliceEnd(text, at);
    chunks.push(text.slice(at, end));
    at = end;
  }
  return (
    <div className="plain">
      {chunks.map((c, i) => (
        <Chunk key={i} text={c} />
      ))}
    </div>
  );
}
