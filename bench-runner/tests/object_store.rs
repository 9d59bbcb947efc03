//! A dataset in an S3-compatible object store: `bench-runner upload`, then `run --data s3://…`
//! on DataFusion and on a real Ballista cluster whose scheduler and executors (separate
//! processes) read the bucket themselves. The store is moto's S3 server on 127.0.0.1, from the
//! project's pinned Python tools (`scripts/ci/pytools.sh`, into `$LOGBENCH_VENV` or
//! `<target>/venv`); it is stopped by PID when the test ends, pass or fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bench_runner::results::{RunResult, Status};

mod common;
use common::{AWS_SETTINGS, ClusterGuard, generate, ok, text, venv, workload};

const BIN: &str = env!("CARGO_BIN_EXE_bench-runner");
const SECRET: &str = "logbench-test-secret-4b1d";

/// moto's S3 server on a free loopback port; killed by PID when dropped.
struct S3Server {
    child: Child,
    port: u16,
    /// Everything the runs against it printed, stdout and stderr.
    streams: std::cell::RefCell<String>,
}

impl S3Server {
    fn start() -> Self {
        // The port is found by binding and releasing it, so another process may take it before
        // moto binds it: moto then exits, and it is started again on another port.
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(venv().join("bin/moto_server"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut server = S3Server {
                child,
                port,
                streams: Default::default(),
            };
            // Ready when it answers S3's ListBuckets.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(status) = server.request("GET", "/") {
                    assert_eq!(status, 200, "moto answered ListBuckets with {status}");
                    return server;
                }
                if let Some(exit) = server.child.try_wait().unwrap() {
                    eprintln!("moto_server exited ({exit}) before answering on port {port}");
                    break;
                }
                assert!(Instant::now() < deadline, "moto_server not up in 60 s");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server exited before answering, three times on three ports");
    }

    /// One unsigned HTTP/1.1 request (moto accepts them); the status code.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut reply = String::new();
        s.read_to_string(&mut reply)?;
        reply
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status line in {reply:?}")))
    }

    /// `bench-runner ARGS` with this store's S3 settings (and no others) in its environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for v in AWS_SETTINGS {
            cmd.env_remove(v);
        }
        cmd.args(args)
            .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "logbench")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs [`Self::command`] to the end (a cluster it starts inherits the settings); what it
    /// printed is kept in `streams`.
    fn bench_runner(&self, args: &[&str]) -> Output {
        let o = self.command(args).output().unwrap();
        let mut streams = self.streams.borrow_mut();
        streams.push_str(&text(&o.stdout));
        streams.push_str(&text(&o.stderr));
        o
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Its stdout, once it succeeded.
fn stdout_ok(o: &Output) -> String {
    ok(o);
    text(&o.stdout)
}

fn answers(r: &RunResult, engine: usize) -> Vec<(String, String)> {
    r.engines[engine]
        .queries
        .iter()
        .map(|q| {
            assert_eq!(
                q.status,
                Status::Ok,
                "{} on {}",
                q.name,
                r.engines[engine].engine.name
            );
            (q.name.clone(), q.answer.as_ref().unwrap().digest.clone())
        })
        .collect()
}

#[test]
fn a_dataset_in_an_s3_bucket_gives_the_answers_of_the_same_files_on_disk() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let s3 = S3Server::start();
    assert_eq!(s3.request("PUT", "/logbench").unwrap(), 200, "CreateBucket");
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 300_000, 3, 50_000);
    let data_s = data.to_str().unwrap();
    let queries = workload();
    let queries_s = queries.to_str().unwrap();

    // Upload: every file, then the manifest; a second upload of the same dataset copies nothing.
    let out =
        stdout_ok(&s3.bench_runner(&["upload", "--data", data_s, "--to", "s3://logbench/logs"]));
    assert!(out.contains("upload: 3 files"), "{out}");
    let out =
        stdout_ok(&s3.bench_runner(&["upload", "--data", data_s, "--to", "s3://logbench/logs/"]));
    assert!(out.contains("nothing copied"), "{out}");

    // The same workload on the files on disk and in the bucket, DataFusion and a Ballista
    // cluster started with the S3 settings in its processes' environment.
    let state = tmp.path().join("cluster");
    let up = s3.bench_runner(&[
        "cluster",
        "up",
        "--executors",
        "2",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    let _cluster = ClusterGuard::adopt(&state);
    ok(&up);
    let run = |location: &str, name: &str| -> RunResult {
        let file = tmp.path().join(name);
        let o = s3.bench_runner(&[
            "run",
            "--data",
            location,
            "--engine",
            "datafusion,ballista",
            "--cluster-state-dir",
            state.to_str().unwrap(),
            "--queries",
            queries_s,
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--out",
            file.to_str().unwrap(),
        ]);
        ok(&o);
        RunResult::read(&file).unwrap()
    };
    let local = run(data_s, "local.json");
    let remote = run("s3://logbench/logs", "s3.json");
    assert_eq!(remote.dataset.path, "s3://logbench/logs/");
    assert_eq!(
        remote.dataset.manifest_sha256,
        local.dataset.manifest_sha256
    );
    assert_eq!(remote.engines.len(), 2);
    assert_eq!(remote.engines[1].engine.name, "ballista");
    for e in 0..2 {
        assert_eq!(remote.engines[e].table_rows, 300_000);
        assert_eq!(answers(&remote, e), answers(&local, e));
    }

    // A different dataset over the same prefix: the stale file is removed (a table over the
    // prefix would read it), and the run sees the new dataset only.
    let smaller = generate(&tmp.path().join("smaller"), 100_000, 2, 50_000);
    let out = stdout_ok(&s3.bench_runner(&[
        "upload",
        "--data",
        smaller.to_str().unwrap(),
        "--to",
        "s3://logbench/logs",
    ]));
    assert!(
        out.contains("upload: 2 files") && out.contains("removed stale"),
        "{out}"
    );
    let o = s3.bench_runner(&[
        "run",
        "--data",
        "s3://logbench/logs",
        "--queries",
        queries_s,
        "--query",
        "agg_status_codes",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--verify-digests",
        "--out",
        tmp.path().join("smaller.json").to_str().unwrap(),
    ]);
    ok(&o);
    let r = RunResult::read(&tmp.path().join("smaller.json")).unwrap();
    assert_eq!(
        (r.dataset.rows, r.engines[0].table_rows),
        (100_000, 100_000)
    );
    assert!(r.dataset.digests_verified);

    // The credentials are in nothing the runs left: result files, the cluster's logs and
    // per-job event logs (still there: the cluster runs), the datasets, and every line the
    // runs printed.
    let mut files = 0;
    let mut stack = vec![tmp.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the secret is in {}",
                    p.display()
                );
                files += 1;
            }
        }
    }
    let logs = std::fs::read_dir(&state).unwrap().flatten().count();
    assert!(files > 10 && logs > 0, "{files} files looked at");
    assert!(
        state.join("events").is_dir(),
        "the event logs were looked at"
    );
    let streams = s3.streams.borrow();
    assert!(
        streams.contains("upload: 3 files"),
        "the streams were captured"
    );
    assert!(!streams.contains(SECRET), "the secret was printed");
}

#[test]
fn a_prefix_without_a_dataset_or_a_bad_url_is_a_one_line_error() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let s3 = S3Server::start();
    assert_eq!(s3.request("PUT", "/empty").unwrap(), 200, "CreateBucket");
    let queries = workload();
    let run = |data: &str| {
        s3.bench_runner(&[
            "run",
            "--data",
            data,
            "--queries",
            queries.to_str().unwrap(),
            "--out",
            "/nonexistent/never-written.json",
        ])
    };
    let o = run("s3://empty/nothing-here");
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("s3://empty/nothing-here/ has no manifest.json"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for (url, says) in [
        ("gs://bucket/logs", "unsupported scheme gs://"),
        ("s3:///logs", "no bucket"),
    ] {
        let o = run(url);
        assert_eq!(o.status.code(), Some(2), "{url}");
        assert!(text(&o.stderr).contains(says), "{url}: {}", text(&o.stderr));
    }
    // A cluster started without S3 settings: its scheduler refuses the bucket itself (one line,
    // no fall-back to the instance-metadata address), though the runner has the settings.
    let tmp = tempfile::tempdir().unwrap();
    let data = generate(&tmp.path().join("data"), 50_000, 1, 50_000);
    assert_eq!(s3.request("PUT", "/bare").unwrap(), 200, "CreateBucket");
    ok(&s3.bench_runner(&[
        "upload",
        "--data",
        data.to_str().unwrap(),
        "--to",
        "s3://bare/logs",
    ]));
    let state = tmp.path().join("cluster");
    let _cluster = ClusterGuard::up(&state, &["--executors", "1", "--vcores", "1"]);
    let o = s3.bench_runner(&[
        "run",
        "--data",
        "s3://bare/logs",
        "--engine",
        "ballista",
        "--cluster-state-dir",
        state.to_str().unwrap(),
        "--queries",
        queries.to_str().unwrap(),
        "--out",
        tmp.path().join("never.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("S3 bucket bare: no credentials in this process's environment"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!tmp.path().join("never.json").exists());

    // Upload refuses a destination that is not s3:// and a directory that is not a dataset.
    let o = s3.bench_runner(&["upload", "--data", "/nonexistent", "--to", "s3://empty/x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("manifest.json"),
        "{}",
        text(&o.stderr)
    );
    let o = s3.bench_runner(&["upload", "--data", "/nonexistent", "--to", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not an s3://bucket/prefix URL"),
        "{}",
        text(&o.stderr)
    );
}

impl S3Server {
    /// The keys under `prefix` in `bucket` (ListObjectsV2, unsigned: moto accepts it).
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return Vec::new();
        };
        let _ = write!(
            s,
            "GET /{bucket}?list-type=2&prefix={prefix} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply
            .split("<Key>")
            .skip(1)
            .filter_map(|k| k.split("</Key>").next().map(str::to_string))
            .collect()
    }
}

#[test]
fn an_interrupted_upload_never_looks_like_a_dataset_and_a_second_one_completes_it() {
    let _deadline = common::Deadline::new(std::time::Duration::from_secs(900));
    let s3 = S3Server::start();
    assert_eq!(s3.request("PUT", "/logbench").unwrap(), 200, "CreateBucket");
    let tmp = tempfile::tempdir().unwrap();
    let first = generate(&tmp.path().join("first"), 100_000, 2, 50_000);
    let second = generate(&tmp.path().join("second"), 3_000_000, 6, 250_000);
    ok(&s3.bench_runner(&[
        "upload",
        "--data",
        first.to_str().unwrap(),
        "--to",
        "s3://logbench/logs",
    ]));
    assert!(
        s3.keys("logbench", "logs/")
            .contains(&"logs/manifest.json".to_string())
    );

    // Replace it with a bigger dataset, and SIGKILL the upload once it has begun (the old
    // manifest is deleted first).
    let mut child = s3
        .command(&[
            "upload",
            "--data",
            second.to_str().unwrap(),
            "--to",
            "s3://logbench/logs",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while s3
        .keys("logbench", "logs/")
        .contains(&"logs/manifest.json".to_string())
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "the upload never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !s3.keys("logbench", "logs/")
            .contains(&"logs/manifest.json".to_string()),
        "killed mid-way: no manifest"
    );

    // Half copied, the prefix is refused, not read.
    let o = s3.bench_runner(&[
        "run",
        "--data",
        "s3://logbench/logs",
        "--query",
        "agg_status_codes",
        "--out",
        tmp.path().join("never.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("has no manifest.json"),
        "{}",
        text(&o.stderr)
    );
    assert!(!tmp.path().join("never.json").exists());

    // Uploading again completes it: every file and the manifest, and a run reads 3M rows.
    ok(&s3.bench_runner(&[
        "upload",
        "--data",
        second.to_str().unwrap(),
        "--to",
        "s3://logbench/logs",
    ]));
    let mut keys = s3.keys("logbench", "logs/");
    keys.sort();
    assert_eq!(keys.len(), 7, "{keys:?}");
    let out = tmp.path().join("r.json");
    ok(&s3.bench_runner(&[
        "run",
        "--data",
        "s3://logbench/logs",
        "--query",
        "agg_status_codes",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--verify-digests",
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = RunResult::read(&out).unwrap();
    assert_eq!(
        (r.dataset.rows, r.engines[0].table_rows),
        (3_000_000, 3_000_000)
    );
}
