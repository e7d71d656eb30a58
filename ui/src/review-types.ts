/**
 * Types of the issue-19 API (review, file operations, find in files, commit details, archiving,
 * backups, a chat's changes). Those `protocol/generated.ts` has are re-exported from it; the
 * others follow the session's API contract and stand in until the backend's types land.
 */
import type { Checkpoint, Project } from './protocol/generated';

export type { Checkpoint };

// Generated from atelier-protocol (main has them): the review and a chat's changes.
export type { DiffHunk as Hunk, FileChange as ReviewFile, ReviewAccept, ReviewDone, SessionChange } from './protocol/generated';

export interface FileUndo {
  undo: Checkpoint;
}

export interface FileDeleted {
  undo: Checkpoint;
  skipped: string[];
}

export interface FileMatch {
  path: string;
  line: number;
  column: number;
  text: string;
}

export interface FilesSearched {
  matches: FileMatch[];
  truncated: boolean;
  files_searched: number;
}

export interface FileReplaced {
  path: string;
  replacements: number;
  diff: string;
}

export interface FilesReplaced {
  files: FileReplaced[];
  undo?: Checkpoint | null;
}

export interface CommitFile {
  path: string;
  status: string;
  additions: number;
  deletions: number;
  /** A renamed file's path at the parent. */
  old_path?: string | null;
  /** Binary: no line counts (0 and 0). */
  binary?: boolean;
}

export interface CommitDetails {
  commit: string;
  summary: string;
  message: string;
  author: string;
  time: string;
  parents: string[];
  files: CommitFile[];
}

export type ArchivableProject = Project & { archived_at?: string | null; opened_at?: string | null };

export interface CleanupCandidate {
  project_id: string;
  name: string;
  path: string;
  archived_at: string;
  sessions: number;
  messages: number;
  workflows: number;
}

export interface Backup {
  id: string;
  path: string;
  bytes: number;
  time: string;
}

