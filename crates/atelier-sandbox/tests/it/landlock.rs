//! The Landlock fallback forced (bubblewrap made unfindable): the same promises as far as
//! Landlock keeps them. The file and network checks are shared with bubblewrap in `confine`.

use atelier_sandbox::Policy;

use crate::{exists, landlock, run, unique};

#[tokio::test]
async fn a_write_outside_is_refused_with_permission_denied() {
    let project = tempfile::tempdir().unwrap();
    let outside = std::env::temp_dir().join(unique("landlock-outside"));
    let _cleanup = crate::Planted(outside.clone());
    let out =
        run(&landlock(), &Policy::new(project.path()), &format!("echo x > '{}'", outside.display())).await;
    assert!(!out.success());
    assert!(out.output.contains("Permission denied"), "{}", out.output);
    assert!(!exists(&outside));
}

#[tokio::test]
async fn temporary_files_go_to_a_private_tmpdir() {
    let project = tempfile::tempdir().unwrap();
    let out = run(
        &landlock(),
        &Policy::new(project.path()),
        "f=$(mktemp) && echo ok > \"$f\" && cat \"$f\" && echo \"$f\"",
    )
    .await;
    assert!(out.success(), "{out:?}");
    assert!(out.output.contains("atelier-sandbox-"), "mktemp used the sandbox's TMPDIR: {}", out.output);
}
