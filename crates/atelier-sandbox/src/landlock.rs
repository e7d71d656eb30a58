//! Linux Landlock, the fallback where bubblewrap cannot create namespaces (some containers and
//! CI runners): the system readable except the home folders, the allowed folders readable, the
//! project and a private TMPDIR writable, TCP bind and connect refused unless the network is
//! allowed (Linux 6.7+), and no signals or abstract sockets outside (Linux 6.12+).
//!
//! The ruleset is built in Atelier's process; the child only applies it between fork and exec,
//! which is where the one `unsafe` block of this crate is.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, LandlockStatus, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use crate::{Policy, SandboxError};

/// The newest Landlock this code was written and tested for; older kernels get what they have.
const ABI_USED: ABI = ABI::V6;

/// Folders never readable from inside: home folders, other users' and shared temporary files,
/// removable disks, the person's session sockets.
const HIDDEN: &[&str] = &["/home", "/root", "/tmp", "/var/tmp", "/mnt", "/media", "/run/user"];

/// Whether Landlock works here, tried on a throwaway thread (Landlock restricts the calling
/// thread only, so Atelier itself stays free); `Ok(true)` when it can also refuse TCP.
pub(crate) fn probe() -> Result<bool, String> {
    let tried = std::thread::spawn(|| -> Result<(RulesetStatus, LandlockStatus), String> {
        let status = Ruleset::default()
            .handle_access(AccessFs::from_all(ABI_USED))
            .and_then(|r| r.create())
            .and_then(|r| r.restrict_self())
            .map_err(|e| e.to_string())?;
        Ok((status.ruleset, status.landlock))
    })
    .join()
    .map_err(|_| "the Landlock probe failed".to_owned())??;
    match tried {
        (RulesetStatus::NotEnforced, LandlockStatus::NotEnabled) => {
            Err("Landlock is built into this kernel but not enabled (add `landlock` to the lsm= boot \
                 option)"
                .into())
        }
        (RulesetStatus::NotEnforced, _) => {
            Err("this kernel has no Landlock (it needs Linux 5.13 or later)".into())
        }
        (_, LandlockStatus::Available { effective_abi, .. }) => Ok(effective_abi >= ABI::V4),
        (_, _) => Ok(false),
    }
}

/// The ruleset for `policy` as a file descriptor for [`confine`].
pub(crate) fn ruleset(
    policy: &Policy,
    home: Option<&Path>,
    tmp: Option<&Path>,
) -> Result<OwnedFd, SandboxError> {
    let unavailable = |reason: String| SandboxError::Unavailable {
        asked: "landlock".into(),
        reason,
        advice: "Choose `auto` in Settings → Sandbox to detect again".into(),
    };
    let mut hidden: Vec<PathBuf> = HIDDEN.iter().map(PathBuf::from).collect();
    hidden.extend(home.map(Path::to_path_buf));
    let readable = readable_tree(Path::new("/"), &hidden);
    let mut writable = vec![policy.project.clone()];
    writable.extend(tmp.map(Path::to_path_buf));
    let build = || -> Result<RulesetCreated, landlock::RulesetError> {
        let mut rules = Ruleset::default().handle_access(AccessFs::from_all(ABI_USED))?;
        if !policy.network {
            // Handled with no port allowed: every TCP bind and connect is refused.
            rules = rules.handle_access(AccessNet::from_all(ABI_USED))?;
        }
        rules
            .scope(Scope::from_all(ABI_USED))?
            .create()?
            .add_rules(path_beneath_rules(&readable, AccessFs::from_read(ABI_USED)))?
            .add_rules(path_beneath_rules(&policy.read_only, AccessFs::from_read(ABI_USED)))?
            .add_rules(path_beneath_rules(&writable, AccessFs::from_all(ABI_USED)))?
            .add_rules(path_beneath_rules(
                ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"],
                AccessFs::from_all(ABI_USED),
            ))
    };
    let created = build().map_err(|e| unavailable(format!("the Landlock rules cannot be built: {e}")))?;
    Option::<OwnedFd>::from(created).ok_or_else(|| unavailable("this kernel has no Landlock".into()))
}

/// Everything under `root` except `hidden` (and what is under them), as few folders as
/// possible: a folder with nothing hidden inside is one entry.
fn readable_tree(root: &Path, hidden: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if hidden.iter().any(|h| path.starts_with(h)) {
            continue;
        }
        let holds_hidden = hidden.iter().any(|h| h.starts_with(&path) && h != &path);
        // Symbolic links (`/bin` → `usr/bin`) are followed by the rule; never descended.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if holds_hidden && is_dir {
            out.extend(readable_tree(&path, hidden));
        } else {
            out.push(path);
        }
    }
    out
}

/// In the child, between fork and exec: a new session (`new_session`: its own process group,
/// no controlling terminal to inject keystrokes into, as bubblewrap's `--new-session` gives), the
/// memory limit, and the Landlock ruleset.
pub(crate) fn confine(
    command: &mut tokio::process::Command,
    rules: Option<OwnedFd>,
    data_bytes: Option<u64>,
    new_session: bool,
) {
    if rules.is_none() && data_bytes.is_none() && !new_session {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed: it makes system calls (setsid, setrlimit, prctl,
    // landlock_restrict_self) and reads errno; it allocates nothing and takes no lock. The
    // ruleset's descriptor is owned by the closure, so it is open in the child when the closure
    // runs (it is close-on-exec, so the command never sees it).
    unsafe {
        command.pre_exec(move || {
            if new_session && libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = data_bytes {
                let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
                if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(fd) = &rules {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::syscall(libc::SYS_landlock_restrict_self, fd.as_raw_fd(), 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readable_tree_leaves_out_hidden_folders_but_keeps_their_neighbours() {
        let root = tempfile::tempdir().unwrap();
        for dir in ["usr/bin", "home/alice", "var/lib/bob", "var/log"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let hidden = vec![root.path().join("home"), root.path().join("var/lib/bob")];
        let mut tree = readable_tree(root.path(), &hidden);
        tree.sort();
        let names: Vec<String> =
            tree.iter().map(|p| p.strip_prefix(root.path()).unwrap().display().to_string()).collect();
        // var holds a hidden folder, so it is split; var/lib holds only the hidden one.
        assert_eq!(names, ["usr", "var/log"]);
    }
}
