import { useCallback, useEffect, useState } from 'react';
import { Group, Panel, Separator } from 'react-resizable-panels';
import { useTopic } from '../api';
import type { Event, Project } from '../protocol/generated';
import { Chat } from './Chat';
import { Checkpoints } from './Checkpoints';
import { Editor } from './Editor';
import { FileTree } from './FileTree';
import { GitPanel } from './Git';
import { Monitor } from './Monitor';
import { Terminals } from './Terminals';
import { Workflows } from './Workflows';

const SIDE_TABS = ['Chat', 'Workflows', 'Git', 'Checkpoints', 'Monitor'] as const;
type SideTab = (typeof SIDE_TABS)[number];

export function Workspace({ project }: { project: Project }) {
  const [open, setOpen] = useState<string[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [side, setSide] = useState<SideTab>('Chat');
  const [terminal, setTerminal] = useState(true);
  /** Bumped on every `files.changed`: the tree and open tabs reload what changed. */
  const [changed, setChanged] = useState<{ n: number; paths: string[] }>({ n: 0, paths: [] });

  useTopic(
    `project/${project.id}`,
    useCallback((e: Event) => {
      if (e.type === 'files.changed' || e.type === 'stream.gap') {
        const paths = (e.data as { paths?: string[] }).paths ?? [];
        setChanged((c) => ({ n: c.n + 1, paths }));
      }
    }, []),
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey && e.key === '`') {
        e.preventDefault();
        setTerminal((t) => !t);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const openFile = useCallback((path: string) => {
    setOpen((o) => (o.includes(path) ? o : [...o, path]));
    setActive(path);
  }, []);
  const closeFile = (path: string) => {
    setOpen((o) => o.filter((p) => p !== path));
    setActive((a) => (a === path ? null : a));
  };

  return (
    <Group orientation="vertical" className="workspace">
      <Panel defaultSize="72%" minSize="20%">
        <Group orientation="horizontal">
          <Panel defaultSize="18%" minSize="10%">
            <FileTree projectId={project.id} changed={changed.n} onOpen={openFile} active={active} />
          </Panel>
          <Separator className="sep-v" />
          <Panel defaultSize="47%" minSize="15%">
            <Editor projectId={project.id} open={open} active={active} onActivate={setActive} onClose={closeFile} changed={changed} />
          </Panel>
          <Separator className="sep-v" />
          <Panel defaultSize="35%" minSize="20%">
            <div className="side">
              <div role="tablist" aria-label="Panels" className="tabs">
                {SIDE_TABS.map((t) => (
                  <button key={t} role="tab" aria-selected={side === t} onClick={() => setSide(t)}>
                    {t}
                  </button>
                ))}
              </div>
              <div className="side-body">
                {side === 'Chat' ? <Chat project={project} /> : null}
                {side === 'Workflows' ? <Workflows project={project} onOpenFile={openFile} /> : null}
                {side === 'Git' ? <GitPanel projectId={project.id} changed={changed.n} /> : null}
                {side === 'Checkpoints' ? <Checkpoints projectId={project.id} /> : null}
                {side === 'Monitor' ? <Monitor /> : null}
              </div>
            </div>
          </Panel>
        </Group>
      </Panel>
      {terminal ? <Separator className="sep-h" /> : null}
      {terminal ? (
        <Panel defaultSize="28%" minSize="10%">
          <Terminals projectId={project.id} />
        </Panel>
      ) : null}
    </Group>
  );
}
