//! Ctrl-C and SIGTERM during a run: the execution in flight is abandoned (its Ballista job
//! cancelled in the scheduler), the query is recorded as interrupted, the result file keeps
//! what was measured (marked incomplete), and the run stops. A second signal ends the process
//! at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

static REQUESTED: OnceLock<watch::Sender<bool>> = OnceLock::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn sender() -> &'static watch::Sender<bool> {
    REQUESTED.get_or_init(|| watch::channel(false).0)
}

/// Listens for SIGINT and SIGTERM on the current Tokio runtime (once per process).
pub fn install() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            seen += 1;
            if seen > 1 {
                eprintln!("bench-runner: second interrupt: stopping at once");
                std::process::exit(130);
            }
            eprintln!(
                "bench-runner: interrupted: cancelling the query in flight and keeping what was measured (again to stop at once)"
            );
            sender().send_replace(true);
        }
    });
}

/// Whether the run was interrupted.
pub fn requested() -> bool {
    *sender().borrow()
}

/// Resolves when the run is interrupted; never, until then.
pub async fn wait() {
    let mut rx = sender().subscribe();
    let _ = rx.wait_for(|v| *v).await;
}
