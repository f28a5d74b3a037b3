//! The line protocol between a front end (the app's training panel, `mask-curator train` /
//! `predict`) and the training worker `mask-curator-ml`, which is the only process that
//! loads libtorch. Pure: no torch.
//!
//! The worker writes one JSON object per line on its standard output, each with an
//! `event` tag ([`WorkerEvent`]); everything else it has to say (warnings, a backtrace)
//! goes to standard error, which the front end keeps as the log. The front end writes
//! commands on the worker's standard input, one per line ([`CANCEL`]). The run folder is
//! the rest of the interface: a worker on another machine writes the same files.

use super::run::{EpochRecord, FoldSummary, RunStatus};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The file name of the worker binary, found beside the front end's own binary.
pub const WORKER_BIN: &str = "mask-curator-ml";

/// Set by a front end that hands a command over to the worker: the name its usage and
/// errors show (`mask-curator`).
pub const BIN_NAME_ENV: &str = "MASK_CURATOR_BIN_NAME";

/// Written on the worker's standard input: stop after the current batch.
pub const CANCEL: &str = "cancel";

/// What the worker reports, one per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Training started: the run folder exists.
    Started {
        run_dir: PathBuf,
        folds: Vec<usize>,
        epochs: u32,
        batches_per_epoch: usize,
        device: String,
    },
    FoldStarted {
        fold: usize,
        train_photos: usize,
        val_photos: usize,
        pretrained: Option<String>,
    },
    /// Photos checked before the first fold (done of total).
    Preparing {
        done: usize,
        total: usize,
    },
    Batch(BatchProgress),
    Epoch(EpochRecord),
    FoldFinished(FoldSummary),
    /// Training ended (finished, cancelled or failed); the worker exits after this.
    Finished {
        run_dir: PathBuf,
        status: RunStatus,
        error: Option<String>,
    },
    /// Inference wrote a submission (and its report).
    Predicted {
        out: PathBuf,
        metrics: Option<PathBuf>,
        summary: String,
    },
    /// A line for the log.
    Log {
        text: String,
    },
    /// The request could not be carried out; the worker exits non-zero after this.
    Error {
        message: String,
    },
}

/// Progress within an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatchProgress {
    pub fold: usize,
    /// 1-based.
    pub epoch: u32,
    /// 1-based.
    pub batch: usize,
    pub batches: usize,
    pub loss: f64,
    pub images_per_sec: f64,
    /// Estimated seconds until the folds of this process are done.
    pub eta_secs: f64,
}

impl WorkerEvent {
    /// The event as one protocol line (no newline).
    pub fn to_line(&self) -> String {
        // Every field serialises (no maps with non-string keys, no NaN in JSON: non-finite
        // floats become null through serde_json), so this cannot fail in practice; an
        // error still yields a valid line.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"event":"error","message":"cannot encode an event: {e}"}}"#)
        })
    }

    /// Parses one line of the worker's output; `None` for a line that is not an event
    /// (the front end logs those as text).
    pub fn parse(line: &str) -> Option<WorkerEvent> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }
}

/// Where the worker binary is: beside `exe` (the running front end), else on `PATH`.
pub fn worker_path(exe: Option<&std::path::Path>) -> PathBuf {
    let name = format!("{WORKER_BIN}{}", std::env::consts::EXE_SUFFIX);
    if let Some(dir) = exe.and_then(|e| e.parent()) {
        let beside = dir.join(&name);
        if beside.is_file() {
            return beside;
        }
        // Test binaries live in target/<profile>/deps/, the worker one level up.
        if let Some(up) = dir.parent().map(|d| d.join(&name)).filter(|p| p.is_file()) {
            return up;
        }
    }
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_single_lines() {
        let events = vec![
            WorkerEvent::Started {
                run_dir: "/r".into(),
                folds: vec![0, 1],
                epochs: 3,
                batches_per_epoch: 7,
                device: "cpu".into(),
            },
            WorkerEvent::Batch(BatchProgress {
                fold: 1,
                epoch: 2,
                batch: 3,
                batches: 7,
                loss: 0.5,
                images_per_sec: 100.0,
                eta_secs: 12.0,
            }),
            WorkerEvent::Finished {
                run_dir: "/r".into(),
                status: RunStatus::Failed,
                error: Some("line one\nline two".into()),
            },
            WorkerEvent::Log {
                text: "fold 0: 10 train / 2 val".into(),
            },
        ];
        for e in events {
            let line = e.to_line();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(WorkerEvent::parse(&line), Some(e));
        }
    }

    #[test]
    fn lines_that_are_not_events_are_not_parsed() {
        assert_eq!(WorkerEvent::parse("warning: something"), None);
        assert_eq!(WorkerEvent::parse("{\"event\":\"nonsense\"}"), None);
        assert_eq!(WorkerEvent::parse(""), None);
    }
}
