//! What a confined command can and cannot touch: the project, the system, the home folder,
//! places outside the project, the network. The same checks for bubblewrap and Landlock.

use std::io::Read;
use std::net::TcpListener;

use atelier_sandbox::{Policy, Sandbox};

use crate::{Planted, bubblewrap, exists, home, landlock, plant_in_home, run, unique};

async fn writes_in_the_project_and_reads_the_system(sandbox: &Sandbox) {
    let project = tempfile::tempdir().unwrap();
    let out = run(
        sandbox,
        &Policy::new(project.path()),
        "echo built > out.txt && head -n 1 /etc/os-release && pwd",
    )
    .await;
    assert!(out.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(project.path().join("out.txt")).unwrap(), "built\n");
    assert!(out.output.contains("NAME="), "the system is readable: {}", out.output);
    assert!(
        out.output.contains(&project.path().canonicalize().unwrap().display().to_string()),
        "cwd is the project"
    );
}

async fn cannot_read_a_secret_in_the_home_folder(sandbox: &Sandbox) {
    let secret = plant_in_home("the-planted-secret");
    let project = tempfile::tempdir().unwrap();
    let out = run(sandbox, &Policy::new(project.path()), &format!("cat '{}'", secret.0.display())).await;
    assert!(!out.success(), "{out:?}");
    assert!(!out.output.contains("the-planted-secret"), "{}", out.output);
    // Nor by listing the home folder.
    let out = run(sandbox, &Policy::new(project.path()), &format!("ls -a '{}'", home().display())).await;
    let name = secret.0.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!out.output.contains(&name), "{}", out.output);
}

async fn reads_but_cannot_change_an_allowed_folder(sandbox: &Sandbox) {
    let allowed = Planted(home().join(format!(".{}", unique("toolchain"))));
    std::fs::create_dir_all(&allowed.0).unwrap();
    std::fs::write(allowed.0.join("tool"), "the-tool").unwrap();
    let project = tempfile::tempdir().unwrap();
    let policy = Policy { read_only: vec![allowed.0.clone()], ..Policy::new(project.path()) };
    let dir = allowed.0.display();
    let out = run(sandbox, &policy, &format!("cat '{dir}/tool'")).await;
    assert!(out.success() && out.output.contains("the-tool"), "{out:?}");
    let out = run(sandbox, &policy, &format!("echo changed > '{dir}/tool'; echo new > '{dir}/new'")).await;
    assert!(!out.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(allowed.0.join("tool")).unwrap(), "the-tool");
    assert!(!exists(&allowed.0.join("new")));
}

async fn cannot_create_a_file_outside_the_project(sandbox: &Sandbox) {
    let project = tempfile::tempdir().unwrap();
    let beside = project.path().parent().unwrap().join(unique("beside"));
    let in_home = home().join(unique("in-home"));
    let _cleanup = (Planted(beside.clone()), Planted(in_home.clone()));
    let in_etc = std::path::PathBuf::from("/etc").join(unique("in-etc"));
    for target in [&beside, &in_home, &in_etc] {
        let out =
            run(sandbox, &Policy::new(project.path()), &format!("echo escaped > '{}'", target.display()))
                .await;
        assert!(!exists(target), "{} was created from inside the sandbox: {out:?}", target.display());
    }
    // Nor through a symbolic link planted in the project.
    std::os::unix::fs::symlink(home(), project.path().join("link")).unwrap();
    let name = unique("via-link");
    let out = run(sandbox, &Policy::new(project.path()), &format!("echo escaped > link/{name}")).await;
    let via_link = home().join(&name);
    let _cleanup_link = Planted(via_link.clone());
    assert!(!exists(&via_link), "written through a link: {out:?}");
}

/// Whether a command in the sandbox reaches a listener on this machine's 127.0.0.1.
async fn reaches_the_host(sandbox: &Sandbox, network: bool) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let project = tempfile::tempdir().unwrap();
    let policy = Policy { network, ..Policy::new(project.path()) };
    let out = run(sandbox, &policy, &format!("bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}'")).await;
    match listener.accept() {
        Ok((mut stream, _)) => {
            stream.set_nonblocking(false).unwrap();
            let mut got = String::new();
            stream.read_to_string(&mut got).unwrap();
            assert_eq!(got, "hello\n");
            assert!(out.success(), "{out:?}");
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            assert!(!out.success(), "{out:?}");
            false
        }
        Err(e) => panic!("accept: {e}"),
    }
}

#[tokio::test]
async fn bubblewrap_lets_a_command_write_in_the_project_and_read_the_system() {
    writes_in_the_project_and_reads_the_system(&bubblewrap()).await;
}

#[tokio::test]
async fn bubblewrap_hides_a_secret_planted_in_the_home_folder() {
    cannot_read_a_secret_in_the_home_folder(&bubblewrap()).await;
}

#[tokio::test]
async fn bubblewrap_allowed_folders_are_readable_not_writable() {
    reads_but_cannot_change_an_allowed_folder(&bubblewrap()).await;
}

#[tokio::test]
async fn bubblewrap_refuses_files_outside_the_project() {
    cannot_create_a_file_outside_the_project(&bubblewrap()).await;
}

#[tokio::test]
async fn bubblewrap_blocks_the_network_unless_it_is_allowed() {
    let sandbox = bubblewrap();
    assert!(!reaches_the_host(&sandbox, false).await, "network off: 127.0.0.1 of the host is unreachable");
    assert!(reaches_the_host(&sandbox, true).await, "network on: it is reachable");
}

#[tokio::test]
async fn bubblewrap_keeps_git_hooks_read_only() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join(".git/hooks")).unwrap();
    let out = run(
        &bubblewrap(),
        &Policy::new(project.path()),
        "echo 'curl evil' > .git/hooks/pre-commit; echo ok > src.txt",
    )
    .await;
    assert!(!exists(&project.path().join(".git/hooks/pre-commit")), "{out:?}");
    assert!(exists(&project.path().join("src.txt")));
}

#[tokio::test]
async fn landlock_lets_a_command_write_in_the_project_and_read_the_system() {
    writes_in_the_project_and_reads_the_system(&landlock()).await;
}

#[tokio::test]
async fn landlock_hides_a_secret_planted_in_the_home_folder() {
    cannot_read_a_secret_in_the_home_folder(&landlock()).await;
}

#[tokio::test]
async fn landlock_allowed_folders_are_readable_not_writable() {
    reads_but_cannot_change_an_allowed_folder(&landlock()).await;
}

#[tokio::test]
async fn landlock_refuses_files_outside_the_project() {
    cannot_create_a_file_outside_the_project(&landlock()).await;
}

#[tokio::test]
async fn landlock_blocks_tcp_unless_the_network_is_allowed() {
    let sandbox = landlock();
    assert!(!reaches_the_host(&sandbox, false).await);
    assert!(reaches_the_host(&sandbox, true).await);
}

#[tokio::test]
async fn off_runs_with_the_persons_full_rights() {
    let secret = plant_in_home("readable-when-off");
    let sandbox = Sandbox::detect(atelier_sandbox::SandboxSetting::Off).unwrap();
    let project = tempfile::tempdir().unwrap();
    let out = run(
        &sandbox,
        &Policy::new(project.path()),
        &format!("cat '{}'; echo $ATELIER_SANDBOX", secret.0.display()),
    )
    .await;
    assert!(out.output.contains("readable-when-off"), "{out:?}");
    assert!(out.output.contains("none"));
    assert_eq!(out.mode, atelier_sandbox::Mode::None);
}
