//! The bubblewrap command line for a policy: the system read-only, home folders and `/run` as
//! empty tmpfs, the allowed folders read-only, the project read-write, a private `/tmp`, new
//! namespaces of every kind (the network's only when the network is off), no capabilities.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Policy;

/// Folders under `/run` kept visible: DNS resolution through systemd-resolved lives there
/// (`/etc/resolv.conf` points into it), and nothing in it grants anything.
const RUN_KEPT: &[&str] = &["/run/systemd/resolve", "/run/resolvconf", "/run/NetworkManager"];

/// The arguments to `bwrap` that run `program args` confined by `policy` (whose paths are
/// already absolute and real). Order matters: later mounts cover earlier ones.
pub fn bwrap_args(policy: &Policy, home: Option<&Path>, program: &str, args: &[String]) -> Vec<OsString> {
    let mut a = Args::default();
    a.flags(&["--die-with-parent", "--new-session", "--unshare-all"]);
    if policy.network {
        a.flags(&["--share-net"]);
    }
    // As root, bwrap would otherwise keep every capability, and CAP_SYS_ADMIN could remount
    // the read-only system writable.
    a.flags(&["--cap-drop", "ALL"]);
    a.bind("--ro-bind", Path::new("/"), Path::new("/"));
    a.flags(&["--dev", "/dev", "--proc", "/proc"]);
    // /run holds the person's session sockets (D-Bus, ssh-agent, Docker's): a way out.
    for dir in ["/tmp", "/var/tmp", "/run"] {
        if Path::new(dir).is_dir() {
            a.dir_flag("--tmpfs", Path::new(dir));
        }
    }
    for kept in RUN_KEPT {
        let kept = Path::new(kept);
        if kept.is_dir() {
            a.bind("--ro-bind", kept, kept);
        }
    }
    // Every home folder is hidden: the person's and any other user's.
    let mut hidden: Vec<PathBuf> =
        ["/home", "/root"].iter().map(PathBuf::from).filter(|p| p.is_dir()).collect();
    if let Some(home) = home
        && !hidden.iter().any(|h| home.starts_with(h))
        && home != Path::new("/")
        && home.is_dir()
    {
        hidden.push(home.to_path_buf());
    }
    for dir in &hidden {
        a.dir_flag("--tmpfs", dir);
    }
    if let Some(home) = home.filter(|h| h.is_dir()) {
        // The home folder itself exists (empty) so that `cd ~` and tools that stat it work.
        a.dir_flag("--dir", home);
    }
    for allowed in &policy.read_only {
        a.bind("--ro-bind", allowed, allowed);
    }
    a.bind("--bind", &policy.project, &policy.project);
    // A git hook or `core.fsmonitor` written by a confined command would run unconfined the
    // next time the person uses git in their own terminal.
    for protected in [".git/hooks", ".git/config"] {
        let path = policy.project.join(protected);
        if path.exists() {
            a.bind("--ro-bind", &path, &path);
        }
    }
    a.dir_flag("--chdir", &policy.project);
    a.flags(&["--"]);
    a.0.push(program.into());
    a.0.extend(args.iter().map(OsString::from));
    a.0
}

#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn flags(&mut self, flags: &[&str]) {
        self.0.extend(flags.iter().map(OsString::from));
    }

    fn dir_flag(&mut self, flag: &str, dir: &Path) {
        self.0.push(flag.into());
        self.0.push(dir.into());
    }

    fn bind(&mut self, flag: &str, from: &Path, to: &Path) {
        self.0.push(flag.into());
        self.0.push(from.into());
        self.0.push(to.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(args: &[OsString]) -> String {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_project_is_bound_writable_after_the_home_is_hidden() {
        let project = tempfile::tempdir().unwrap();
        let policy = Policy::new(project.path());
        let args =
            text(&bwrap_args(&policy, Some(Path::new("/home/alice")), "sh", &["-c".into(), "make".into()]));
        let hide = args.find("--tmpfs /home").unwrap();
        let bind = args.find(&format!("--bind {p} {p}", p = project.path().display())).unwrap();
        assert!(hide < bind, "{args}");
        assert!(args.contains("--unshare-all"));
        assert!(!args.contains("--share-net"), "network is off by default: {args}");
        assert!(args.contains("--die-with-parent") && args.contains("--new-session"));
        assert!(args.ends_with("-- sh -c make"), "{args}");
    }

    #[test]
    fn network_on_shares_the_network_and_allowed_folders_are_read_only() {
        let project = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let policy = Policy {
            network: true,
            read_only: vec![cache.path().to_path_buf()],
            ..Policy::new(project.path())
        };
        let args = text(&bwrap_args(&policy, None, "true", &[]));
        assert!(args.contains("--share-net"));
        assert!(args.contains(&format!("--ro-bind {p} {p}", p = cache.path().display())));
    }

    #[test]
    fn git_hooks_stay_read_only_inside_a_writable_project() {
        let project = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(project.path().join(".git/hooks")).unwrap();
        let args = text(&bwrap_args(&Policy::new(project.path()), None, "true", &[]));
        let hooks = project.path().join(".git/hooks");
        let bind = args.find(&format!("--bind {p} {p}", p = project.path().display())).unwrap();
        let ro = args.find(&format!("--ro-bind {p} {p}", p = hooks.display())).unwrap();
        assert!(bind < ro, "the read-only hooks must cover the writable project: {args}");
    }

    #[test]
    fn a_home_outside_the_usual_places_is_hidden_too() {
        let project = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let args = text(&bwrap_args(&Policy::new(project.path()), Some(home.path()), "true", &[]));
        assert!(args.contains(&format!("--tmpfs {}", home.path().display())), "{args}");
        assert!(args.contains(&format!("--dir {}", home.path().display())), "{args}");
    }
}
