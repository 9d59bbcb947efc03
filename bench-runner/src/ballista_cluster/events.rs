//! The scheduler's per-job event log (`--event-log-dir`): one JSON-lines file per job,
//! `<job id>.eventlog` once the job has ended. Its task-end events name the executor that ran
//! each task, which neither the job's metrics nor the REST API say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::results::engine::StageSpan;

#[derive(Debug, Deserialize)]
struct Record {
    ev: String,
    data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct TaskEnd {
    stage_id: u32,
    task_id: u32,
    executor_id: String,
    status: serde_json::Value,
    launch_time: u64,
    start_exec_time: u64,
    end_exec_time: u64,
}

/// One task attempt that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRun {
    pub stage_id: u32,
    /// The scheduler's id for this attempt (a task run again gets a new one).
    pub task_id: u32,
    pub executor_id: String,
    pub ok: bool,
    /// Milliseconds since the Unix epoch.
    pub launch_ms: u64,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The file a finished job's log is renamed to.
pub fn log_path(dir: &Path, job_id: &str) -> PathBuf {
    dir.join(format!("{job_id}.eventlog"))
}

/// Reads the task-end events of `job_id`, waiting up to `wait` for the scheduler to close the
/// log (it writes asynchronously, so the file can lag the client's answer by milliseconds).
pub async fn read_tasks(dir: &Path, job_id: &str, wait: Duration) -> Result<Vec<TaskRun>> {
    let path = log_path(dir, job_id);
    let deadline = Instant::now() + wait;
    while !path.exists() {
        if Instant::now() >= deadline {
            return Err(Error::Engine(format!(
                "no event log for job {job_id} in {} after {:.0} s (is the scheduler's --event-log-dir this directory?)",
                dir.display(),
                wait.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    parse_tasks(&text).map_err(|e| Error::Engine(format!("{}: {e}", path.display())))
}

pub fn parse_tasks(text: &str) -> std::result::Result<Vec<TaskRun>, String> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: Record =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if record.ev != "TaskEnd" {
            continue;
        }
        let t: TaskEnd =
            serde_json::from_value(record.data).map_err(|e| format!("line {}: {e}", i + 1))?;
        out.push(TaskRun {
            stage_id: t.stage_id,
            task_id: t.task_id,
            executor_id: t.executor_id,
            ok: t.status == serde_json::Value::String("Successful".into()),
            launch_ms: t.launch_time,
            start_ms: t.start_exec_time,
            end_ms: t.end_exec_time,
        });
    }
    Ok(out)
}

/// Successful tasks per executor over the whole job.
pub fn tasks_per_executor(tasks: &[TaskRun]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for t in tasks.iter().filter(|t| t.ok) {
        *m.entry(t.executor_id.clone()).or_insert(0) += 1;
    }
    m
}

/// Per-stage spans, in stage order, with times relative to the first launch.
pub fn stage_spans(tasks: &[TaskRun]) -> Vec<StageSpan> {
    let origin = tasks.iter().map(|t| t.launch_ms).min().unwrap_or(0);
    let mut by_stage: BTreeMap<u32, StageSpan> = BTreeMap::new();
    for t in tasks {
        let s = by_stage.entry(t.stage_id).or_insert_with(|| StageSpan {
            stage_id: t.stage_id,
            tasks: 0,
            failed_tasks: 0,
            start_ms: u64::MAX,
            end_ms: 0,
            tasks_per_executor: BTreeMap::new(),
        });
        s.tasks += 1;
        if t.ok {
            *s.tasks_per_executor
                .entry(t.executor_id.clone())
                .or_insert(0) += 1;
        } else {
            s.failed_tasks += 1;
        }
        s.start_ms = s.start_ms.min(t.start_ms.max(t.launch_ms) - origin);
        s.end_ms = s.end_ms.max(t.end_ms.saturating_sub(origin));
    }
    by_stage.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"ev":"JobStart","version":1,"data":{"job_id":"j"}}
{"ev":"TaskEnd","version":1,"data":{"stage_id":1,"task_id":0,"executor_id":"a","status":"Successful","launch_time":100,"start_exec_time":101,"end_exec_time":150,"metrics":{}}}
{"ev":"TaskEnd","version":1,"data":{"stage_id":1,"task_id":1,"executor_id":"b","status":"Successful","launch_time":100,"start_exec_time":102,"end_exec_time":170,"metrics":{}}}
{"ev":"TaskEnd","version":1,"data":{"stage_id":2,"task_id":2,"executor_id":"b","status":{"Failed":{"reason":"x","error":"y"}},"launch_time":171,"start_exec_time":172,"end_exec_time":180,"metrics":{}}}
{"ev":"TaskEnd","version":1,"data":{"stage_id":2,"task_id":3,"executor_id":"a","status":"Successful","launch_time":181,"start_exec_time":182,"end_exec_time":200,"metrics":{}}}
"#;

    #[test]
    fn counts_tasks_per_executor_and_stage() {
        let tasks = parse_tasks(LOG).unwrap();
        assert_eq!(tasks.len(), 4);
        assert!(!tasks[2].ok);
        let per = tasks_per_executor(&tasks);
        assert_eq!(per.get("a"), Some(&2));
        assert_eq!(per.get("b"), Some(&1));
        let spans = stage_spans(&tasks);
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start_ms, spans[0].end_ms), (1, 70));
        assert_eq!((spans[1].tasks, spans[1].failed_tasks), (2, 1));
        assert_eq!((spans[1].start_ms, spans[1].end_ms), (72, 100));
        assert!(parse_tasks("{not json").is_err());
    }
}
