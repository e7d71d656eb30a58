-- 0007: archiving projects. `archived_at` hides a project from the list (set by hand or when
-- nobody opened it for `archive_after_days`); `opened_at` is when it was last opened.
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

ALTER TABLE projects ADD COLUMN archived_at TEXT;
ALTER TABLE projects ADD COLUMN opened_at TEXT;

-- Projects from before this migration count as opened now: otherwise every project older than
-- `archive_after_days` would vanish from the list at the first start after the upgrade.
UPDATE projects SET opened_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
