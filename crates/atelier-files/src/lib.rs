//! A project's files, safely: every path from outside (the API, the agents) goes through
//! [`resolve`], which refuses anything that could leave the project. Then the tree
//! (`.gitignore`-aware), reads with size and binary checks, and atomic writes. Blocking: async
//! callers use `spawn_blocking`.

mod copy;
mod ops;
mod replace;
mod search;
mod watch;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

pub use copy::{CopyProgress, copy_tree};
pub use ops::{create_dir, create_file, files_under, remove, rename};
pub use replace::{Replaced, plan_replace};
pub use search::{SearchMatch, SearchOptions, SearchResult, search};
pub use watch::{Watcher, watch};

/// Files larger than this are not read into the editor or the API.
pub const MAX_READ_BYTES: u64 = 5 * 1024 * 1024;
/// The most entries `tree` returns.
pub const MAX_TREE_ENTRIES: usize = 50_000;
/// The longest project-relative path accepted, in bytes (below every platform's own limit, so an
/// over-long name is refused with a clear message instead of failing in the file system).
pub const MAX_PATH_BYTES: usize = 1024;
/// The longest single name (a folder or a file) accepted, in bytes: what ext4, APFS and NTFS allow.
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the path `{path}` is not allowed: {reason}")]
    Refused { path: String, reason: &'static str },
    #[error("`{path}` not found")]
    NotFound { path: String },
    #[error("`{path}` is {size} bytes; files over {limit} bytes are not opened here")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("`{path}` is a binary file")]
    Binary { path: String },
    #[error("`{path}` is a folder")]
    IsDir { path: String },
    /// Something is already at a path a new file, folder or rename needs.
    #[error("`{path}` already exists")]
    Exists { path: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// Input that cannot be used (a pattern that does not compile, a bad glob).
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
}

/// Names Windows refuses in any folder, with or without an extension.
const WINDOWS_RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
    "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Checks a project-relative path without touching the disk and returns it cleaned: `/`
/// separators, no `.` parts, no doubled or trailing `/`. Refuses `..`, absolute paths, NUL bytes,
/// Windows-reserved names, `.git`, over-long paths and names, and the project folder itself
/// (an empty path): what names one file or folder *inside* the project.
pub fn clean(relative: &str) -> Result<String, FilesError> {
    let parts = parts(relative)?;
    if parts.is_empty() {
        return Err(FilesError::Refused {
            path: shown(relative),
            reason: "it names the project folder itself, not a file in it",
        });
    }
    Ok(parts.join("/"))
}

/// The checked parts of a project-relative path; none for the project folder itself.
fn parts(relative: &str) -> Result<Vec<String>, FilesError> {
    let refuse = |reason| FilesError::Refused { path: shown(relative), reason };
    if relative.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    if relative.len() > MAX_PATH_BYTES {
        return Err(refuse("it is too long (over 1024 bytes)"));
    }
    let normalized = relative.replace('\\', "/");
    let path = Path::new(&normalized);
    if path.is_absolute()
        || normalized.starts_with('/')
        || (normalized.len() >= 2 && normalized.as_bytes()[1] == b':')
    {
        return Err(refuse("it is absolute; use a path relative to the project"));
    }
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => {
                let part = part.to_string_lossy();
                if part.len() > MAX_NAME_BYTES {
                    return Err(refuse("a name in it is too long (over 255 bytes)"));
                }
                let stem = part.split('.').next().unwrap_or_default().to_ascii_lowercase();
                if WINDOWS_RESERVED.contains(&stem.as_str()) {
                    return Err(refuse("it uses a name Windows reserves"));
                }
                if part.trim_end_matches(['.', ' ']).eq_ignore_ascii_case(".git") {
                    return Err(refuse("it is inside .git"));
                }
                parts.push(part.into_owned());
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("it leaves the project")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("it is absolute")),
        }
    }
    Ok(parts)
}

/// At most 200 characters of a refused path, for messages.
fn shown(relative: &str) -> String {
    relative.chars().take(200).collect()
}

/// Resolves a project-relative path to a path inside `root`, refusing `..` escapes, absolute
/// paths, NUL bytes, Windows-reserved names, `.git`, over-long paths, and symlinks that lead
/// outside. The path need not exist yet (for writes); its existing ancestors are checked. An
/// empty path (or `.`) is the project folder itself.
///
/// Every write and delete in a project goes through this at the moment it happens (see
/// [`write`], [`write_bytes`], [`remove_file`]), not only when the change was planned: a folder
/// may have been swapped for a symlink in between.
pub fn resolve(root: &Path, relative: &str) -> Result<PathBuf, FilesError> {
    let refuse = |reason| FilesError::Refused { path: shown(relative), reason };
    let cleaned = parts(relative)?.join("/");
    let mut out = root.to_path_buf();
    // The tree shows a name that is not UTF-8 with U+FFFD in its place; such a path names no
    // file, and writing it would make a second, differently named one.
    if cleaned.contains('\u{FFFD}') && !root.join(&cleaned).exists() {
        return Err(refuse(
            "its name on disk is not valid UTF-8, so it cannot be opened here; rename it (e.g. in a terminal)",
        ));
    }
    for part in cleaned.split('/').filter(|p| !p.is_empty()) {
        out.push(part);
    }
    // Symlinks: the deepest existing ancestor must still be inside the project.
    let real_root = root.canonicalize().map_err(|source| FilesError::Io { path: ".".into(), source })?;
    let mut existing = out.as_path();
    while std::fs::symlink_metadata(existing).is_err() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break,
        }
    }
    let real = match existing.canonicalize() {
        Ok(real) => real,
        // A symlink whose target does not exist: where it points is unknown until something
        // is created there, so it is refused like one that points outside.
        Err(_) if std::fs::symlink_metadata(existing).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(refuse("it leads through a symbolic link to nowhere"));
        }
        Err(source) => return Err(FilesError::Io { path: shown(relative), source }),
    };
    if !real.starts_with(&real_root) {
        return Err(refuse("it leads outside the project through a symbolic link"));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the project, with `/`.
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    /// The name on disk is not UTF-8: `path` shows it with U+FFFD, and it cannot be opened.
    pub non_utf8_name: bool,
}

/// The files and folders under `relative` (the whole project for `""`), skipping `.git` and
/// what `.gitignore` ignores, sorted by path.
pub fn tree(root: &Path, relative: &str) -> Result<Vec<Entry>, FilesError> {
    let start = if relative.is_empty() { root.to_path_buf() } else { resolve(root, relative)? };
    if !start.exists() {
        return Err(FilesError::NotFound { path: relative.to_owned() });
    }
    let mut entries = Vec::new();
    let walker = ignore::WalkBuilder::new(&start)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for item in walker.flatten() {
        if item.depth() == 0 {
            continue;
        }
        let Ok(relative) = item.path().strip_prefix(root) else { continue };
        let meta = item.metadata().ok();
        entries.push(Entry {
            path: relative.to_string_lossy().replace('\\', "/"),
            is_dir: item.file_type().is_some_and(|t| t.is_dir()),
            size: meta.filter(|m| m.is_file()).map_or(0, |m| m.len()),
            non_utf8_name: relative.to_str().is_none(),
        });
        if entries.len() >= MAX_TREE_ENTRIES {
            break;
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Reads a text file: refused when too large or binary (a NUL byte in its first 8 KiB, or not
/// UTF-8).
pub fn read(root: &Path, relative: &str) -> Result<String, FilesError> {
    let path = resolve(root, relative)?;
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => FilesError::NotFound { path: relative.to_owned() },
        _ => FilesError::Io { path: relative.to_owned(), source },
    };
    let meta = std::fs::metadata(&path).map_err(io)?;
    if meta.is_dir() {
        return Err(FilesError::IsDir { path: relative.to_owned() });
    }
    if meta.len() > MAX_READ_BYTES {
        return Err(FilesError::TooLarge {
            path: relative.to_owned(),
            size: meta.len(),
            limit: MAX_READ_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io)?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(FilesError::Binary { path: relative.to_owned() });
    }
    String::from_utf8(bytes).map_err(|_| FilesError::Binary { path: relative.to_owned() })
}

/// Writes a file atomically (a temporary file beside it, then a rename), creating folders.
pub fn write(root: &Path, relative: &str, content: &str) -> Result<(), FilesError> {
    write_bytes(root, relative, content.as_bytes())
}

/// Writes bytes atomically, as [`write`] does, resolving the path at this moment.
pub fn write_bytes(root: &Path, relative: &str, content: &[u8]) -> Result<(), FilesError> {
    let path = resolve(root, relative)?;
    let io = |source| FilesError::Io { path: shown(relative), source };
    if path == root {
        return Err(FilesError::IsDir { path: ".".into() });
    }
    if path.is_dir() {
        return Err(FilesError::IsDir { path: shown(relative) });
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
        // Creating the folders may itself have raced with a swap: check again before writing.
        resolve(root, relative)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.atelier-tmp"));
    std::fs::write(&temp, content).map_err(io)?;
    // The replaced file's permissions stay (a script stays executable).
    if let Ok(meta) = std::fs::metadata(&path)
        && let Err(e) = std::fs::set_permissions(&temp, meta.permissions())
    {
        tracing::debug!(error = %e, "permissions not carried over to the new version");
    }
    std::fs::rename(&temp, &path).map_err(|e| {
        if let Err(cleanup) = std::fs::remove_file(&temp) {
            tracing::debug!(error = %cleanup, "temporary file left behind");
        }
        io(e)
    })
}

/// Removes a file (or a symbolic link, never what it points to) in the project, resolving the
/// path at this moment. A file that is already gone is not an error: returns whether one was removed.
pub fn remove_file(root: &Path, relative: &str) -> Result<bool, FilesError> {
    let refuse = |reason| FilesError::Refused { path: shown(relative), reason };
    let cleaned = clean(relative)?;
    // The parent must resolve inside the project; the last part may itself be a link, which
    // is removed as a link.
    let (parent, name) = match cleaned.rsplit_once('/') {
        Some((parent, name)) => (resolve(root, parent)?, name.to_owned()),
        None => (resolve(root, "")?, cleaned.clone()),
    };
    let path = parent.join(&name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => Err(FilesError::IsDir { path: shown(relative) }),
        Ok(_) => match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(FilesError::Io { path: shown(relative), source }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(refuse("a part of it is a file, not a folder"))
        }
        Err(source) => Err(FilesError::Io { path: shown(relative), source }),
    }
}

/// Writes the project as a zip archive to `out`, file by file from disk (nothing is held in
/// memory whole). `.git` is always left out; what `.gitignore` ignores too, unless
/// `include_ignored`. Returns how many files went in.
pub fn export_zip<W: std::io::Write + std::io::Seek>(
    root: &Path,
    out: W,
    include_ignored: bool,
) -> Result<usize, FilesError> {
    let io = |path: &str| {
        let path = path.to_owned();
        move |source: std::io::Error| FilesError::Io { path, source }
    };
    let zip_io = |e: zip::result::ZipError| FilesError::Io {
        path: "the archive".into(),
        source: std::io::Error::other(e),
    };
    let mut zip = zip::ZipWriter::new(out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(!include_ignored)
        .git_exclude(!include_ignored)
        .ignore(!include_ignored)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    let mut files = 0;
    for item in walker.flatten() {
        if !item.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = item.path().strip_prefix(root) else { continue };
        let name = relative.to_string_lossy().replace('\\', "/");
        zip.start_file(name.as_str(), options).map_err(zip_io)?;
        let mut file = std::fs::File::open(item.path()).map_err(io(&name))?;
        std::io::copy(&mut file, &mut zip).map_err(io(&name))?;
        files += 1;
    }
    zip.finish().map_err(zip_io)?;
    Ok(files)
}
