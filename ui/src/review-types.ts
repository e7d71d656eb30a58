/**
 * Types of the issue-19 API (review, file operations, find in files, commit details, archiving,
 * backups, a chat's changes), as the session's API contract states them. They stand in until
 * `protocol/generated.ts` has them; then these re-export or give way to the generated ones.
 */
import type { Checkpoint, Project } from './protocol/generated';

export type { Checkpoint };

export interface Hunk {
  index: number;
  old_start: number;
  old_lines: number;
  new_start: number;
  new_lines: number;
}

/** One file of a workflow's review: `before` null = a new file, `after` null = deleted. */
export interface ReviewFile {
  path: string;
  diff: string;
  before: string | null;
  after: string | null;
  hunks: Hunk[];
}

export interface ReviewDone {
  accepted: string[];
  rejected: string[];
  undo?: string | null;
}

export type ReviewAccept = string | { path: string; hunks: number[] };

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

/** A file an agent of a chat changed, not yet kept or undone. */
export interface SessionChange {
  path: string;
  checkpoint_id: string;
  additions: number;
  deletions: number;
  diff: string;
}
