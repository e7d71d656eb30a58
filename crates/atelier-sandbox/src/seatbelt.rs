//! macOS: a Seatbelt profile for `sandbox-exec` applying the same rules as bubblewrap: the
//! system readable, the home folder hidden except the allowed folders, writes only in the
//! project and a private TMPDIR, no network unless allowed. Paths go in as `-D` parameters, so
//! no path needs quoting inside the profile.

use std::ffi::OsString;
use std::path::Path;

use crate::Policy;

/// Only the system's copy: a `sandbox-exec` earlier on `PATH` could be anyone's.
pub(crate) const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// The profile for `policy`; `readable` is the number of allowed read-only folders (parameters
/// `READ_0`, `READ_1`, …). Later rules win over earlier ones in Seatbelt, so each allow comes
/// after the deny it narrows.
pub fn seatbelt_profile(readable: usize, has_home: bool, has_tmp: bool, network: bool) -> String {
    let mut p = String::from(
        "(version 1)\n\
         (deny default)\n\
         ; processes: children inherit the profile; signals and inspection only inside it\n\
         (allow process-exec)\n\
         (allow process-fork)\n\
         (allow signal (target same-sandbox))\n\
         (allow process-info* (target same-sandbox))\n\
         (allow sysctl-read)\n\
         (allow user-preference-read)\n\
         (allow ipc-posix-sem)\n\
         (allow ipc-posix-shm-read* ipc-posix-shm-write-data)\n\
         (allow pseudo-tty)\n\
         (allow file-ioctl)\n\
         ; user and group look-ups, and the system log\n\
         (allow mach-lookup\n\
         \x20 (global-name \"com.apple.system.opendirectoryd.libinfo\")\n\
         \x20 (global-name \"com.apple.system.logger\")\n\
         \x20 (global-name \"com.apple.system.notification_center\"))\n\
         ; files: everything readable but the home folder\n\
         (allow file-read*)\n",
    );
    if has_home {
        p.push_str(
            "(deny file-read* (subpath (param \"HOME\")))\n\
             ; the home folder itself can be looked at (tools stat it), not listed\n\
             (allow file-read-metadata (literal (param \"HOME\")))\n",
        );
    }
    for i in 0..readable {
        p.push_str(&format!("(allow file-read* (subpath (param \"READ_{i}\")))\n"));
    }
    p.push_str(
        "(allow file-read* file-write* (subpath (param \"PROJECT\")))\n\
         (deny file-write* (subpath (param \"PROJECT_GIT_HOOKS\")) (literal (param \"PROJECT_GIT_CONFIG\")))\n",
    );
    if has_tmp {
        p.push_str("(allow file-read* file-write* (subpath (param \"TMP\")))\n");
    }
    p.push_str(
        "(allow file-write-data file-read-data\n\
         \x20 (literal \"/dev/null\") (literal \"/dev/zero\") (literal \"/dev/tty\") (literal \"/dev/dtracehelper\"))\n",
    );
    if network {
        p.push_str(
            "; the network, allowed by the setting sandbox.network\n\
             (allow network*)\n\
             (allow system-socket)\n\
             (allow mach-lookup\n\
             \x20 (global-name \"com.apple.dnssd.service\")\n\
             \x20 (global-name \"com.apple.trustd.agent\")\n\
             \x20 (global-name \"com.apple.SystemConfiguration.configd\"))\n",
        );
    }
    p
}

/// The arguments to `sandbox-exec` that run `program args` confined by `policy`.
pub(crate) fn args(
    policy: &Policy,
    home: Option<&Path>,
    tmp: Option<&Path>,
    program: &str,
    args: &[String],
) -> Vec<OsString> {
    let profile = seatbelt_profile(policy.read_only.len(), home.is_some(), tmp.is_some(), policy.network);
    let mut out: Vec<OsString> = vec!["-p".into(), profile.into()];
    let mut define = |name: &str, path: &Path| {
        let mut d = OsString::from(format!("-D{name}="));
        d.push(path);
        out.push(d);
    };
    define("PROJECT", &policy.project);
    define("PROJECT_GIT_HOOKS", &policy.project.join(".git/hooks"));
    define("PROJECT_GIT_CONFIG", &policy.project.join(".git/config"));
    if let Some(home) = home {
        define("HOME", home);
    }
    if let Some(tmp) = tmp {
        define("TMP", tmp);
    }
    for (i, dir) in policy.read_only.iter().enumerate() {
        define(&format!("READ_{i}"), dir);
    }
    out.push("--".into());
    out.push(program.into());
    out.extend(args.iter().map(OsString::from));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_hides_home_then_allows_what_the_policy_allows() {
        let p = seatbelt_profile(2, true, true, false);
        assert!(p.starts_with("(version 1)\n(deny default)"));
        let deny_home = p.find("(deny file-read* (subpath (param \"HOME\")))").unwrap();
        let read_0 = p.find("(allow file-read* (subpath (param \"READ_0\")))").unwrap();
        let read_1 = p.find("(allow file-read* (subpath (param \"READ_1\")))").unwrap();
        let project = p.find("(allow file-read* file-write* (subpath (param \"PROJECT\")))").unwrap();
        assert!(deny_home < read_0 && read_0 < read_1 && read_1 < project, "{p}");
        assert!(p.contains("(subpath (param \"TMP\"))"));
        assert!(!p.contains("network"), "no network rule unless allowed: {p}");
        // Balanced parentheses: sandbox-exec refuses a malformed profile.
        let depth = p.chars().try_fold(0i32, |d, c| match c {
            '(' => Some(d + 1),
            ')' if d > 0 => Some(d - 1),
            ')' => None,
            _ => Some(d),
        });
        assert_eq!(depth, Some(0), "{p}");
    }

    #[test]
    fn the_network_is_allowed_only_when_asked() {
        assert!(seatbelt_profile(0, true, false, true).contains("(allow network*)"));
        assert!(!seatbelt_profile(0, true, false, false).contains("(allow network"));
    }

    #[test]
    fn paths_go_in_as_parameters_and_the_command_follows() {
        let project = tempfile::tempdir().unwrap();
        let policy = Policy { read_only: vec!["/opt/my \"tools\"".into()], ..Policy::new(project.path()) };
        let a: Vec<String> =
            args(&policy, Some(Path::new("/Users/me")), None, "sh", &["-c".into(), "ls".into()])
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
        assert_eq!(a[0], "-p");
        assert!(a.contains(&format!("-DPROJECT={}", project.path().display())));
        assert!(a.contains(&"-DHOME=/Users/me".to_owned()));
        assert!(a.contains(&"-DREAD_0=/opt/my \"tools\"".to_owned()));
        assert_eq!(&a[a.len() - 4..], ["--", "sh", "-c", "ls"]);
        assert!(!a[1].contains("/Users/me"), "paths are parameters, never spliced into the profile");
    }
}
