/** Files agents are writing right now: the text streamed so far, by path (zustand). */
import { create } from 'zustand';

interface LiveFiles {
  files: Record<string, string>;
  append(path: string, delta: string): void;
  finish(path: string): void;
}

export const useLiveFiles = create<LiveFiles>((set) => ({
  files: {},
  append: (path, delta) => set((s) => ({ files: { ...s.files, [path]: (s.files[path] ?? '') + delta } })),
  finish: (path) =>
    set((s) => {
      const files = { ...s.files };
      delete files[path];
      return { files };
    }),
}));
