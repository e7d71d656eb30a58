import { useCallback, useEffect, useState } from 'react';
import { Activity, GitBranch, History, MessageSquare, Workflow } from 'lucide-react';
import { Group, Panel, Separator } from 'react-resizable-panels';
import { useTopic } from '../api';
import { ACTIONS, modKey, requestAction, useCommands } from '../commands';
import { onTabKeys } from '../tabs';
import type { Event, Project } from '../protocol/generated';
import { Chat } from './Chat';
import { ErrorBoundary } from './ErrorBoundary';
import { Checkpoints } from './Checkpoints';
import { CodeSearch } from './CodeSearch';
import { Editor } from './Editor';
import { FileTree } from './FileTree';
import { FindInFiles } from './FindInFiles';
import { GitPanel } from './Git';
import { Monitor } from './Monitor';
import { QuickOpen } from './QuickOpen';
import { Terminals } from './Terminals';
import { Workflows } from './Workflows';
import { movedPath, within } from './TreeOps';

const SIDE_TABS = ['Chat', 'Workflows', 'Git', 'Checkpoints', 'Monitor'] as const;
type SideTab = (typeof SIDE_TABS)[number];
const TAB_ICONS: Record<SideTab, typeof MessageSquare> = { Chat: MessageSquare, Workflows: Workflow, Git: GitBranch, Checkpoints: History, Monitor: Activity };

export function Workspace({ project }: { project: Project }) {
  const [open, setOpen] = useState<string[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [side, setSide] = useState<SideTab>('Chat');
  const [terminal, setTerminal] = useState(true);
  const [searchSignal, setSearchSignal] = useState(0);
  const [quickOpen, setQuickOpen] = useState(false);
  /** Find in files replaces the tree while open; `findFocus` bumps to focus its box again. */
  const [finding, setFinding] = useState(false);
  const [findFocus, setFindFocus] = useState(0);
  /** The palette asked for a new terminal / chat: the panel opens one (once shown) and says so. */
  const [newTerminal, setNewTerminal] = useState(false);
  const [newChat, setNewChat] = useState(false);
  /**
   * Bumped on every `files.changed`: the tree and open tabs reload what changed (`paths: null`
   * after a `stream.gap`: changes were missed, so every open file is checked).
   */
  const [changed, setChanged] = useState<{ n: number; paths: string[] | null }>({ n: 0, paths: [] });
  /** Bumped on `git.changed` (a stage, commit or checkout, from here or another client). */
  const [gitChanged, setGitChanged] = useState(0);

  useTopic(
    `project/${project.id}`,
    useCallback((e: Event) => {
      if (e.type === 'files.changed') {
        const paths = (e.data as { paths?: string[] }).paths ?? [];
        setChanged((c) => ({ n: c.n + 1, paths }));
      } else if (e.type === 'stream.gap') {
        setChanged((c) => ({ n: c.n + 1, paths: null }));
        setGitChanged((n) => n + 1);
      } else if (e.type === 'git.changed') {
        setGitChanged((n) => n + 1);
      }
    }, []),
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Hidden under Settings: its shortcuts rest.
      if (document.querySelector('.workspace')?.closest('[hidden]')) return;
      if (e.ctrlKey && (e.key === '`' || e.code === 'Backquote')) {
        e.preventDefault();
        e.stopPropagation();
        setTerminal((t) => !t);
      } else if ((e.ctrlKey || e.metaKey) && !e.altKey && e.shiftKey && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        e.stopPropagation();
        setFinding(true);
        setFindFocus((n) => n + 1);
      } else if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'p') {
        // Go to file; in a terminal Ctrl+P stays the shell's (previous command).
        if (e.target instanceof Element && e.target.closest('.xterm')) return;
        e.preventDefault();
        e.stopPropagation();
        setQuickOpen(true);
      } else if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        // Search over all chat history, from anywhere in the workspace.
        e.preventDefault();
        e.stopPropagation();
        setSide('Chat');
        setSearchSignal((n) => n + 1);
      }
    };
    // Capture phase: xterm and Monaco handle these keys themselves (xterm would send a NUL,
    // Monaco starts a chord) and stop them; the workspace's shortcuts come first.
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);

  /** Where the editor should go next: a code search result's line. */
  const [reveal, setReveal] = useState<{ path: string; line: number; n: number } | undefined>(undefined);
  const [searchingCode, setSearchingCode] = useState(false);
  const openFile = useCallback((path: string, line?: number) => {
    setOpen((o) => (o.includes(path) ? o : [...o, path]));
    setActive(path);
    if (line) setReveal((r) => ({ path, line, n: (r?.n ?? 0) + 1 }));
  }, []);
  const openFind = useCallback(() => {
    setFinding(true);
    setFindFocus((n) => n + 1);
  }, []);
  /** Tabs follow a rename in the tree; a deleted file's tab closes. */
  const [renamed, setRenamed] = useState<{ from: string; to: string; n: number } | undefined>(undefined);
  const onRenamed = useCallback((from: string, to: string) => {
    setOpen((o) => o.map((p) => movedPath(p, from, to)));
    setActive((a) => (a ? movedPath(a, from, to) : a));
    setRenamed((r) => ({ from, to, n: (r?.n ?? 0) + 1 }));
  }, []);
  const onDeleted = useCallback((path: string) => {
    setOpen((o) => o.filter((p) => !within(p, path)));
    setActive((a) => (a && within(a, path) ? null : a));
  }, []);
  // The workspace's actions in the command palette (Ctrl/Cmd+Shift+P).
  const mod = modKey();
  useCommands([
    { id: 'chat.new', group: 'Chat', title: 'New chat', run: () => (setSide('Chat'), setNewChat(true)) },
    { id: 'chat.search', group: 'Chat', title: 'Search chat history', shortcut: `${mod}+K`, run: () => (setSide('Chat'), setSearchSignal((n) => n + 1)) },
    { id: 'terminal.new', group: 'Terminal', title: 'New terminal', run: () => (setTerminal(true), setNewTerminal(true)) },
    { id: 'terminal.toggle', group: 'Terminal', title: 'Show or hide the terminal', shortcut: 'Ctrl+`', run: () => setTerminal((t) => !t) },
    { id: 'file.goto', group: 'File', title: 'Go to file', shortcut: `${mod}+P`, run: () => setQuickOpen(true) },
    { id: 'search.files', group: 'File', title: 'Find in files', shortcut: `${mod}+Shift+F`, keywords: 'search grep replace', run: openFind },
    {
      id: 'workflow.new',
      group: 'Workflow',
      title: 'Start a workflow',
      keywords: 'agents request build',
      run: () => {
        setSide('Workflows');
        // The request box is there once the panel has rendered.
        requestAnimationFrame(() => document.querySelector<HTMLElement>('.workspace textarea[aria-label="Request"]')?.focus());
      },
    },
    {
      id: 'git.commit',
      group: 'Git',
      title: 'Commit',
      keywords: 'git stage',
      run: () => {
        setSide('Git');
        // The git panel takes the request when it hooks it; else its message box gets the focus.
        requestAnimationFrame(() => requestAction(ACTIONS.gitCommit) || document.querySelector<HTMLElement>('.workspace textarea[aria-label="Commit message"], .workspace input[aria-label="Commit message"]')?.focus());
      },
    },
    ...SIDE_TABS.map((t) => ({ id: `panel.${t.toLowerCase()}`, group: 'Panel', title: `Show ${t}`, run: () => setSide(t) })),
  ]);
  const closeFile = (path: string) => {
    setOpen((o) => o.filter((p) => p !== path));
    setActive((a) => (a === path ? null : a));
  };

  return (
    <>
      {quickOpen ? <QuickOpen projectId={project.id} onOpen={openFile} onClose={() => setQuickOpen(false)} /> : null}
      <Group orientation="vertical" className="workspace">
        <Panel defaultSize="72%" minSize="20%">
          <Group orientation="horizontal">
            <Panel defaultSize="18%" minSize="10%">
              {finding ? (
                <ErrorBoundary name="find in files">
                  <FindInFiles projectId={project.id} onOpen={openFile} onClose={() => setFinding(false)} focus={findFocus} />
                </ErrorBoundary>
              ) : null}
              <div className="files-pane" hidden={finding}>
                <ErrorBoundary name="code search">
                  <CodeSearch projectId={project.id} onOpen={openFile} onActive={setSearchingCode} />
                </ErrorBoundary>
                <div className="files-pane-tree" hidden={searchingCode}>
                  <ErrorBoundary name="file tree">
                    <FileTree projectId={project.id} changed={changed.n} onOpen={openFile} active={active} onRenamed={onRenamed} onDeleted={onDeleted} onFind={openFind} />
                  </ErrorBoundary>
                </div>
              </div>
            </Panel>
            <Separator className="sep-v" />
            <Panel defaultSize="47%" minSize="15%">
              <ErrorBoundary name="editor">
                <Editor projectId={project.id} open={open} active={active} onActivate={setActive} onClose={closeFile} changed={changed} reveal={reveal} renamed={renamed} />
              </ErrorBoundary>
            </Panel>
            <Separator className="sep-v" />
            <Panel defaultSize="35%" minSize="20%">
              <div className="side">
                <div role="tablist" aria-label="Panels" className="tabs" onKeyDown={onTabKeys}>
                  {SIDE_TABS.map((t) => {
                    const Icon = TAB_ICONS[t];
                    return (
                      <button key={t} role="tab" aria-selected={side === t} onClick={() => setSide(t)}>
                        <Icon size={14} />
                        {t}
                      </button>
                    );
                  })}
                </div>
                <div className="side-body">
                  <ErrorBoundary key={side} name={side}>
                    {side === 'Chat' ? <Chat project={project} searchSignal={searchSignal} newChat={newChat} onNewChatDone={() => setNewChat(false)} /> : null}
                    {side === 'Workflows' ? <Workflows project={project} onOpenFile={openFile} /> : null}
                    {side === 'Git' ? <GitPanel projectId={project.id} changed={changed.n + gitChanged} /> : null}
                    {side === 'Checkpoints' ? <Checkpoints projectId={project.id} changed={changed.n + gitChanged} /> : null}
                    {side === 'Monitor' ? <Monitor /> : null}
                  </ErrorBoundary>
                </div>
              </div>
            </Panel>
          </Group>
        </Panel>
        {terminal ? <Separator className="sep-h" /> : null}
        {terminal ? (
          <Panel defaultSize="28%" minSize="10%">
            <ErrorBoundary name="terminal">
              <Terminals projectId={project.id} openNew={newTerminal} onOpenedNew={() => setNewTerminal(false)} />
            </ErrorBoundary>
          </Panel>
        ) : null}
      </Group>
    </>
  );
}
