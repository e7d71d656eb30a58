//! Integration tests for atelier-terminal: a real shell in a real PTY judges it.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use atelier_terminal::{Sink, TerminalError, Terminals};

#[derive(Default)]
struct Collect {
    state: Mutex<(Vec<u8>, Option<Option<u32>>, u64)>,
    changed: Condvar,
}

impl Sink for Collect {
    fn output(&self, _id: &str, offset: u64, data: &[u8]) {
        let mut s = self.state.lock().unwrap();
        assert_eq!(offset, s.2, "offsets are contiguous");
        s.2 += data.len() as u64;
        s.0.extend_from_slice(data);
        self.changed.notify_all();
    }
    fn exited(&self, _id: &str, code: Option<u32>) {
        self.state.lock().unwrap().1 = Some(code);
        self.changed.notify_all();
    }
}

impl Collect {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }
    /// Waits until the output contains `needle` (10 s at most).
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = self.state.lock().unwrap();
        while !String::from_utf8_lossy(&s.0).contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "never saw {needle:?} in {:?}", String::from_utf8_lossy(&s.0));
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }
    fn wait_exit(&self) -> Option<u32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = self.state.lock().unwrap();
        while s.1.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the shell never exited");
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
        s.1.unwrap()
    }
}

fn start() -> (Terminals, String, Arc<Collect>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let terminals = Terminals::new(4);
    let sink = Arc::new(Collect::default());
    let id = terminals.open("p", dir.path(), 80, 24, sink.clone()).unwrap();
    (terminals, id, sink, dir)
}

#[test]
fn echo_resize_and_exit_code() {
    let (terminals, id, sink, dir) = start();
    terminals.write(&id, b"echo hel''lo; pwd\n").unwrap();
    sink.wait_for("hello");
    sink.wait_for(&dir.path().file_name().unwrap().to_string_lossy());
    terminals.resize(&id, 100, 40).unwrap();
    terminals.write(&id, b"stty size\n").unwrap();
    sink.wait_for("40 100");
    let (scrollback, end) = terminals.scrollback(&id).unwrap();
    assert!(String::from_utf8_lossy(&scrollback).contains("hello"));
    assert_eq!(end as usize, sink.text().len(), "the scrollback ends where the output is");
    terminals.write(&id, b"exit 3\n").unwrap();
    assert_eq!(sink.wait_exit(), Some(3));
    assert!(
        matches!(terminals.write(&id, b"x"), Err(TerminalError::NotFound(_))),
        "a closed terminal refuses writes"
    );
}

#[test]
fn a_flood_stops_at_ctrl_c_and_the_shell_answers() {
    let (terminals, id, sink, _dir) = start();
    terminals.write(&id, b"yes flood\n").unwrap();
    sink.wait_for("flood\r\nflood\r\nflood");
    std::thread::sleep(Duration::from_millis(300));
    terminals.write(&id, b"\x03").unwrap();
    terminals.write(&id, b"echo after-$((40+2))\n").unwrap();
    sink.wait_for("after-42");
    let (scrollback, _) = terminals.scrollback(&id).unwrap();
    assert!(scrollback.len() <= atelier_terminal::SCROLLBACK_BYTES, "the scrollback stays bounded");
    terminals.close(&id).unwrap();
    sink.wait_exit();
}

#[test]
fn limits_and_bad_input() {
    let (terminals, id, sink, dir) = start();
    for _ in 0..3 {
        terminals.open("p", dir.path(), 80, 24, Arc::new(Collect::default())).unwrap();
    }
    assert!(matches!(terminals.open("p", dir.path(), 80, 24, sink.clone()), Err(TerminalError::TooMany(4))));
    assert!(matches!(terminals.resize(&id, 0, 24), Err(TerminalError::BadSize { .. })));
    assert!(matches!(terminals.write("nope", b"x"), Err(TerminalError::NotFound(_))));
    terminals.close_owned_by(Some("p"));
    sink.wait_exit();
}

#[test]
fn fifty_megabytes_of_cat_arrive_intact() {
    use sha2::{Digest, Sha256};
    let (terminals, id, sink, dir) = start();
    // 50 MB of text lines; output post-processing is switched off so the bytes pass as they are.
    let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+=!?\n";
    let content = line.repeat(50 * 1024 * 1024 / line.len());
    std::fs::write(dir.path().join("big.txt"), &content).unwrap();
    // The markers are written with octal escapes so the echoed command line does not contain them.
    terminals.write(&id, b"stty -opost -echo; printf '\\074\\074S\\076\\076'; cat big.txt; printf '\\074\\074E\\076\\076'; stty opost echo\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        {
            let s = sink.state.lock().unwrap();
            if s.0.windows(5).rev().take(4096).any(|w| w == b"<<E>>") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "cat did not finish in 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = sink.state.lock().unwrap();
    let start = s.0.windows(5).position(|w| w == b"<<S>>").expect("start marker") + 5;
    let end = s.0.windows(5).rposition(|w| w == b"<<E>>").expect("end marker");
    let received = &s.0[start..end];
    assert_eq!(received.len(), content.len());
    assert_eq!(Sha256::digest(received), Sha256::digest(content.as_bytes()), "the bytes match");
    drop(s);
    terminals.close(&id).unwrap();
}

#[test]
fn terminals_are_capped_in_all_projects_not_only_per_project() {
    let dir = tempfile::tempdir().unwrap();
    let terminals = Terminals::with_total(2, 3);
    let sink = Arc::new(Collect::default());
    let first_sink = Arc::new(Collect::default());
    // New projects each get their share until the cap over all of them is reached.
    let mut ids = vec![terminals.open("a", dir.path(), 80, 24, first_sink.clone()).unwrap()];
    for project in ["b", "c"] {
        ids.push(terminals.open(project, dir.path(), 80, 24, sink.clone()).unwrap());
    }
    let refused = terminals.open("d", dir.path(), 80, 24, sink.clone());
    assert!(matches!(refused, Err(TerminalError::TooManyInAll(3))), "{refused:?}");
    assert!(refused.unwrap_err().to_string().contains("in all projects"));
    // Once one has closed, there is room again.
    terminals.close(&ids[0]).unwrap();
    first_sink.wait_exit();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let id = loop {
        match terminals.open("d", dir.path(), 80, 24, sink.clone()) {
            Ok(id) => break id,
            Err(TerminalError::TooManyInAll(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    };
    for id in ids.iter().skip(1).chain([&id]) {
        terminals.close(id).unwrap();
    }
}
