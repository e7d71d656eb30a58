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
  setValue(text: string): void;
  onDidChangeContent(listener: () => void): { dispose(): void };
  dispose(): void;
}

/** The code editor: the model it shows. */
export interface FakeCodeEditor {
  model: FakeModel | null;
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

export const fake = { diffEditors: [] as FakeDiffEditor[], editors: [] as FakeCodeEditor[] };

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
    updateOptions() {},
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
      const listeners: (() => void)[] = [];
      const m: FakeModel = {
        text,
        language,
        disposed: false,
        getValue: () => m.text,
        setValue: (t: string) => {
          m.text = t;
          for (const l of listeners) l();
        },
        onDidChangeContent: (l: () => void) => {
          listeners.push(l);
          return { dispose() {} };
        },
        dispose: () => {
          m.disposed = true;
        },
      };
      return m;
    },
    setModelLanguage(m: FakeModel, language: string) {
      m.language = language;
    },
    create() {
      const ed: FakeCodeEditor & Record<string, unknown> = {
        model: null,
        setModel(m: FakeModel) {
          ed.model = m;
        },
        getModel: () => ed.model,
        revealLineInCenter() {},
        setPosition() {},
        focus() {},
        dispose() {},
      };
      fake.editors.push(ed);
      return ed;
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
    defineTheme() {},
  },
};
