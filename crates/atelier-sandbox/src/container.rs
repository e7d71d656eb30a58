//! The container command line (Podman or Docker) for a policy: the project mounted read-write at
//! the same path, the allowed folders read-only at theirs, a read-only root with a private
//! `/tmp`, no network unless allowed, no capabilities, the memory and CPU limits, and the
//! person's own user id so files written in the project are theirs.

use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Policy;

/// A name for a new container, unique on this machine for this run, so a timeout or a cancel
/// can remove the container (killing `docker run` alone leaves it running).
pub(crate) fn name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("atelier-{}-{}-{nanos:x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The arguments to `engine` (`podman` or `docker`) that run `program args` in `image`.
#[allow(clippy::too_many_arguments)]
pub fn container_args(
    engine: &str,
    image: &str,
    name: &str,
    policy: &Policy,
    env: &[(String, String)],
    program: &str,
    args: &[String],
) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
    push(&["run", "--rm", "-i", "--init", "--name", name]);
    push(&["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]);
    if !policy.network {
        push(&["--network", "none"]);
    }
    if let Some(mb) = policy.memory_mb {
        // Swap as large as memory: the limit is the limit.
        let memory = format!("{mb}m");
        push(&["--memory", &memory, "--memory-swap", &memory]);
    }
    if let Some(cpus) = policy.cpus {
        push(&["--cpus", &format!("{cpus}")]);
    }
    #[cfg(unix)]
    {
        if engine.ends_with("podman") {
            // Rootless Podman: the person's uid inside is their uid outside.
            push(&["--userns", "keep-id"]);
        } else {
            let user = format!("{}:{}", nix::unistd::getuid(), nix::unistd::getgid());
            push(&["--user", &user]);
        }
    }
    #[cfg(not(unix))]
    let _ = engine;
    let mut volume = |from: &std::path::Path, mode: &str| {
        let mut v = OsString::from(from);
        v.push(":");
        v.push(from);
        v.push(mode);
        a.push("--volume".into());
        a.push(v);
    };
    for dir in &policy.read_only {
        volume(dir, ":ro");
    }
    volume(&policy.project, ":rw");
    a.push("--workdir".into());
    a.push(policy.project.clone().into());
    for (key, value) in env {
        // The container has its own PATH and HOME; the host's would point at nothing.
        if ["PATH", "HOME", "TMPDIR", "TMP", "TEMP"].contains(&key.as_str()) {
            continue;
        }
        a.push("--env".into());
        a.push(format!("{key}={value}").into());
    }
    a.push(image.into());
    a.push(program.into());
    a.extend(args.iter().map(OsString::from));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn no_network_and_limits_by_default_the_project_at_the_same_path() {
        let policy = Policy { memory_mb: Some(2048), cpus: Some(1.5), ..Policy::new("/work/proj") };
        let env = vec![("LANG".into(), "C.UTF-8".into()), ("PATH".into(), "/host/bin".into())];
        let a = text(&container_args(
            "docker",
            "debian:stable-slim",
            "atelier-1",
            &policy,
            &env,
            "sh",
            &["-c".into(), "make test".into()],
        ));
        let joined = a.join(" ");
        assert!(joined.starts_with("run --rm -i --init --name atelier-1"), "{joined}");
        assert!(joined.contains("--network none"));
        assert!(joined.contains("--memory 2048m --memory-swap 2048m"));
        assert!(joined.contains("--cpus 1.5"));
        assert!(joined.contains("--volume /work/proj:/work/proj:rw"));
        assert!(joined.contains("--workdir /work/proj"));
        assert!(joined.contains("--env LANG=C.UTF-8"));
        assert!(!joined.contains("/host/bin"), "the host's PATH means nothing in the image");
        assert!(joined.contains("--read-only") && joined.contains("--cap-drop ALL"));
        assert_eq!(&a[a.len() - 4..], ["debian:stable-slim", "sh", "-c", "make test"]);
    }

    #[test]
    fn network_on_leaves_the_default_network_and_podman_keeps_the_users_id() {
        let policy = Policy { network: true, read_only: vec!["/home/me/.cargo".into()], ..Policy::new("/p") };
        let joined = text(&container_args("podman", "img", "n", &policy, &[], "true", &[])).join(" ");
        assert!(!joined.contains("--network"));
        assert!(joined.contains("--volume /home/me/.cargo:/home/me/.cargo:ro"));
        #[cfg(unix)]
        assert!(joined.contains("--userns keep-id"));
    }

    #[test]
    fn names_are_unique() {
        assert_ne!(name(), name());
    }
}
