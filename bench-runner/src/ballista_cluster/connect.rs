//! Which Ballista cluster a run uses, in order: the scheduler named with `--scheduler` (the
//! local cluster's event log is found when the address is that cluster's; the run waits up to
//! the ready timeout until it has an executor), the cluster
//! `bench-runner cluster up` left running, or a cluster started for this run and stopped
//! when the returned guard drops.

use std::path::PathBuf;
use std::time::Duration;

use super::local::{self, ClusterSpec, ClusterState};
use super::{rest, split_host_port};
use crate::engine::ClusterInfo;
use crate::engine::ballista::BallistaEngine;
use crate::error::{Error, Result};

/// What the command line said about the cluster.
#[derive(Debug, Clone)]
pub struct Choice {
    /// `host:port` of a running scheduler.
    pub scheduler: Option<String>,
    /// The scheduler's event-log directory, where this machine can read it.
    pub event_log_dir: Option<PathBuf>,
    /// Where `cluster up` keeps its state.
    pub state_dir: PathBuf,
    /// The cluster to start when there is none (its `state_dir` is replaced by a temporary one).
    pub spec: ClusterSpec,
    pub ready_timeout: Duration,
    /// The executors' health (and profiling) port on a cluster not started here.
    pub executor_health_port: u16,
}

/// A session on the chosen cluster, what it is, and the cluster started for this run, if one
/// was (stopped when it drops).
pub struct Connected {
    pub engine: BallistaEngine,
    pub info: ClusterInfo,
    pub embedded: Option<local::Embedded>,
    /// The cluster's processes where they run on this machine (a local or embedded cluster:
    /// the scheduler, then the executors), for their CPU time; empty elsewhere.
    pub pids: Vec<u32>,
}

/// Connects to the cluster `choice` names or implies, with `settings` for the session.
pub async fn connect(choice: &Choice, settings: &[(String, String)]) -> Result<Connected> {
    let saved = ClusterState::load(&choice.state_dir)?.filter(|s| s.scheduler_alive());
    // A cluster started here: its executors' health ports, by id.
    let local_health = |s: &ClusterState| -> Vec<(String, String)> {
        s.executors
            .iter()
            .map(|e| (e.id.clone(), format!("127.0.0.1:{}", e.health_port)))
            .collect()
    };
    let health: Option<Vec<(String, String)>>;
    let pids_of = |s: &ClusterState| -> Vec<u32> {
        std::iter::once(s.scheduler.pid)
            .chain(s.executors.iter().map(|e| e.pid))
            .collect()
    };
    let pids: Vec<u32>;
    let (address, events, kind, vcores, embedded) = match (&choice.scheduler, saved) {
        (Some(addr), saved) => {
            let (host, port) = split_host_port("--scheduler", addr).map_err(Error::Config)?;
            let address = format!("{host}:{port}");
            // The local cluster's event log, if --scheduler names that cluster.
            let local = saved.filter(|s| {
                s.scheduler.port == port && ["127.0.0.1", "localhost"].contains(&host.as_str())
            });
            let events = choice
                .event_log_dir
                .clone()
                .or_else(|| local.as_ref().map(|s| s.event_log_dir.clone()));
            let kind = if local.is_some() { "local" } else { "remote" };
            health = local.as_ref().map(local_health);
            pids = local.as_ref().map(pids_of).unwrap_or_default();
            (
                address,
                events,
                kind,
                local.and_then(|s| s.spec.vcores),
                None,
            )
        }
        (None, Some(state)) => (
            {
                health = Some(local_health(&state));
                pids = pids_of(&state);
                state.scheduler_address()
            },
            Some(state.event_log_dir.clone()),
            "local",
            state.spec.vcores,
            None,
        ),
        (None, None) => {
            let mut spec = choice.spec.clone();
            spec.state_dir =
                std::env::temp_dir().join(format!("logbench-cluster-{}", std::process::id()));
            let vcores = spec.vcores;
            let cluster = local::embedded(spec, choice.ready_timeout).await?;
            health = Some(local_health(&cluster.state));
            pids = pids_of(&cluster.state);
            (
                cluster.state.scheduler_address(),
                Some(cluster.state.event_log_dir.clone()),
                "embedded",
                vcores,
                Some(cluster),
            )
        }
    };
    // A scheduler named by address may have its executors still registering (a container or
    // pod started beside it, or after a restart): wait for one, within the bound. A scheduler
    // that cannot be reached at all is an error at once.
    let registered = if embedded.is_none() {
        rest::wait_for_executors(&address, 1, choice.ready_timeout, false).await?
    } else {
        rest::executors(&address, Duration::from_secs(5)).await?
    };
    let mut engine = BallistaEngine::connect(&address, settings, events).await?;
    // Elsewhere, each registered executor's host at the health port it was given.
    engine.set_profile_targets(health.unwrap_or_else(|| {
        registered
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    format!("{}:{}", e.host, choice.executor_health_port),
                )
            })
            .collect()
    }));
    let executors = registered.into_iter().map(|e| e.id).collect();
    let info = ClusterInfo {
        scheduler: address,
        executors,
        vcores,
        kind: kind.into(),
    };
    Ok(Connected {
        engine,
        info,
        embedded,
        pids,
    })
}
