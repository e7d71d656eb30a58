/**
 * A stand-in for Monaco in component tests (jsdom lays nothing out and cannot run its workers):
 * it keeps what the component gave it — the diff editor's two texts, the lines revealed and the
 * lines decorated — so tests can assert what the person would see in the diff editor.
 */
export interface FakeModel {
  text: string;
  language: string;
  disposed: boolean;
  getValue(): string;
  dispose(): void;
}

export interface FakeSide {
  revealed: [number, number][];
  decorated: { start: number; end: number; className?: string }[];
}

export interface FakeDiffEditor {
  model: { original: FakeModel; modified: FakeModel } | null;
  original: FakeSide;
  modified: FakeSide;
}

export const fake = { diffEditors: [] as FakeDiffEditor[] };

function side(): FakeSide & Record<string, unknown> {
  const s: FakeSide & Record<string, unknown> = {
    revealed: [],
    decorated: [],
    revealLinesInCenter(a: number, b: number) {
      s.revealed.push([a, b]);
    },
    revealLineInCenter(a: number) {
      s.revealed.push([a, a]);
    },
    deltaDecorations(_old: string[], decorations: { range: { startLineNumber: number; endLineNumber: number }; options: { className?: string } }[]) {
      s.decorated = decorations.map((d) => ({ start: d.range.startLineNumber, end: d.range.endLineNumber, className: d.options.className }));
      return decorations.map((_, i) => `d${i}`);
    },
  };
  return s;
}

export const fakeMonaco = {
  editor: {
    createModel(text: string, language: string): FakeModel {
      const m: FakeModel = {
        text,
        language,
        disposed: false,
        getValue: () => m.text,
        dispose: () => {
          m.disposed = true;
        },
      };
      return m;
    },
    createDiffEditor() {
      const original = side();
      const modified = side();
      const ed: FakeDiffEditor & Record<string, unknown> = {
        model: null,
        original,
        modified,
        setModel(m: FakeDiffEditor['model']) {
          ed.model = m;
        },
        getModel: () => ed.model,
        getOriginalEditor: () => original,
        getModifiedEditor: () => modified,
        dispose() {},
      };
      fake.diffEditors.push(ed);
      return ed;
    },
    setTheme() {},
  },
};
