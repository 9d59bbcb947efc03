//! The cluster programs as users start them: bad flags are one line and exit 2, and a
//! scheduler answers its health probe on the port it was given. (The cluster at work, with
//! executors and queries, is tested from the runner: bench-runner/tests/ballista_cluster.rs.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCHEDULER: &str = env!("CARGO_BIN_EXE_logbench-scheduler");
const EXECUTOR: &str = env!("CARGO_BIN_EXE_logbench-executor");

/// Kills the child by PID when dropped, pass or fail.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:port: the status line, or None while nothing answers.
fn status_line(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines().next().map(str::to_string)
}

#[test]
fn bad_flags_are_one_line_and_exit_2() {
    for (program, args) in [
        (SCHEDULER, vec!["--bind-port", "not-a-port"]),
        (EXECUTOR, vec!["--flight-port", "1"]), // --work-dir is required
    ] {
        let o = Command::new(program).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{program}: {err}");
        assert_eq!(err.lines().count(), 1, "{program}: {err}");
        assert!(err.starts_with("logbench-"), "{err}");
    }
}

#[test]
fn a_scheduler_answers_its_health_probe_on_the_port_it_was_given() {
    let events = tempfile::tempdir().unwrap();
    // A port the kernel just handed out, released for the scheduler to bind. Another process
    // may take it first: the scheduler then exits, and it is started again on another port.
    let mut attempt = 0;
    let (port, _child, line) = loop {
        attempt += 1;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(SCHEDULER)
            .args(["--bind-host", "127.0.0.1", "--bind-port", &port.to_string()])
            .arg("--event-log-dir")
            .arg(events.path())
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Killed(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let line = loop {
            if let Some(l) = status_line(port, "/healthz") {
                break Some(l);
            }
            if child.0.try_wait().unwrap().is_some() {
                break None;
            }
            assert!(
                Instant::now() < deadline,
                "no answer on port {port} in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        match line {
            Some(l) => break (port, child, l),
            None if attempt < 3 => eprintln!("the scheduler exited before answering on {port}"),
            None => panic!("the scheduler exited before answering, on three ports"),
        }
    };
    assert!(line.contains(" 200"), "{line}");
    assert!(
        status_line(port, "/api/executors").is_some_and(|l| l.contains(" 200")),
        "the REST API shares the port"
    );
}
