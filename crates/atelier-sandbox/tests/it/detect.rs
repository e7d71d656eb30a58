//! Detection: the strongest sandbox for the setting, and never a weaker one than asked.

use atelier_sandbox::{Detect, Mode, ReportStatus, Sandbox, SandboxError, SandboxSetting};

#[test]
fn auto_picks_bubblewrap_where_it_works() {
    let sandbox = Sandbox::detect(SandboxSetting::Auto).unwrap();
    assert_eq!(sandbox.mode(), &Mode::Bubblewrap);
    let report = sandbox.report();
    assert_eq!(report.status, ReportStatus::Ok);
    assert!(report.summary.contains("bubblewrap"), "{}", report.summary);
    assert!(report.advice.is_none());
}

#[test]
fn asking_for_bubblewrap_where_it_cannot_run_is_an_error_that_says_why() {
    let how = Detect { bwrap: "/nonexistent/bwrap".into(), ..Detect::default() };
    let err = Sandbox::detect_with(SandboxSetting::Bubblewrap, &how).unwrap_err();
    assert!(matches!(err, SandboxError::Unavailable { .. }));
    let text = err.to_string();
    assert!(text.contains("not installed") && text.contains("apt install bubblewrap"), "{text}");
}

#[test]
fn a_bubblewrap_that_fails_to_start_is_reported_in_its_own_words() {
    // `false` stands where bwrap would be: it starts and fails, as bwrap does without namespaces.
    let how = Detect { bwrap: "false".into(), ..Detect::default() };
    let err = Sandbox::detect_with(SandboxSetting::Bubblewrap, &how).unwrap_err().to_string();
    assert!(err.contains("fails to start") && err.contains("user namespaces"), "{err}");
}

#[test]
fn auto_falls_back_to_landlock_and_says_why_it_is_weaker() {
    let sandbox = crate::landlock();
    let report = sandbox.report();
    assert_eq!(report.status, ReportStatus::Degraded);
    assert!(
        report.summary.contains("Landlock") && report.summary.contains("not installed"),
        "{}",
        report.summary
    );
    assert!(report.advice.unwrap().contains("Install bubblewrap"));
}

#[test]
fn container_without_an_engine_that_answers_names_each_engine() {
    let how = Detect { engines: vec!["podman".into(), "docker".into()], ..Detect::default() };
    match Sandbox::detect_with(SandboxSetting::Container, &how) {
        // A machine with a running engine: then it is used.
        Ok(sandbox) => assert!(matches!(sandbox.mode(), Mode::Container { .. })),
        Err(err) => {
            let text = err.to_string();
            assert!(text.contains("container sandbox cannot run here"), "{text}");
            assert!(text.contains("podman") && text.contains("docker"), "{text}");
            assert!(text.contains("Install Podman"), "{text}");
        }
    }
}

#[test]
fn off_is_no_sandbox_and_the_report_says_so() {
    let sandbox = Sandbox::detect(SandboxSetting::Off).unwrap();
    assert_eq!(sandbox.mode(), &Mode::None);
    let report = sandbox.report();
    assert_eq!(report.status, ReportStatus::Degraded);
    assert!(report.summary.contains("off") && report.summary.contains("full rights"), "{}", report.summary);
    assert!(report.advice.unwrap().contains("auto"));
}

#[test]
fn the_setting_reads_as_typed_and_refuses_anything_else() {
    assert_eq!("bubblewrap".parse::<SandboxSetting>().unwrap(), SandboxSetting::Bubblewrap);
    assert_eq!("".parse::<SandboxSetting>().unwrap(), SandboxSetting::Auto);
    let err = "docker".parse::<SandboxSetting>().unwrap_err().to_string();
    assert!(err.contains("auto, bubblewrap, container, off"), "{err}");
    assert_eq!(serde_json::to_value(SandboxSetting::Off).unwrap(), "off");
    assert_eq!(
        serde_json::to_value(Mode::Container { engine: "podman".into() }).unwrap(),
        serde_json::json!({"kind": "container", "engine": "podman"})
    );
}
