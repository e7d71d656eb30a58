/**
 * The issue-19 API's types (review, file operations, find in files, commit details, archiving,
 * backups, a chat's changes), from `protocol/generated.ts`, under the names the UI's components
 * use.
 */
export type {
  Backup,
  Checkpoint,
  CleanupCandidate,
  CommitDetails,
  CommitFile,
  DiffHunk as Hunk,
  FileChange as ReviewFile,
  FileMatch,
  FilesDeleted as FileDeleted,
  FilesFound as FilesSearched,
  FilesRenamed as FileUndo,
  FilesReplaced,
  Project as ArchivableProject,
  ReplacedFile as FileReplaced,
  ReviewAccept,
  ReviewDone,
  SessionChange,
} from './protocol/generated';
