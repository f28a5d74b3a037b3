//! The training worker as a child process: starting `mask-curator-ml` with `--events`,
//! following its protocol lines, cancelling it (a `cancel` line, then signals), and telling
//! how it ended. A worker that dies (abort, out-of-memory kill, CUDA error) takes nothing
//! with it but its own run, which is marked failed with the reason.

use crate::ml::protocol::{worker_path, WorkerEvent, CANCEL};
use crate::ml::run::{RunDir, RunInfo, RunStatus};
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a cancelled worker may take to stop on its own before it gets SIGTERM, and
/// after that SIGKILL.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// The last lines of the worker's standard error kept for the reason of a failure.
const STDERR_TAIL: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "cannot start the training worker {path}: {source} (it is built beside mask-curator \
         by `cargo build`, with or without --release)"
    )]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a worker process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerExit {
    pub success: bool,
    /// "exited with status 1", "was killed by signal 9 (SIGKILL, …)".
    pub description: String,
}

impl WorkerExit {
    fn of(status: ExitStatus) -> Self {
        WorkerExit {
            success: status.success(),
            description: describe_status(status),
        }
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                libc::SIGKILL => " (SIGKILL, e.g. from the out-of-memory killer)",
                libc::SIGABRT => " (SIGABRT: libtorch aborted)",
                libc::SIGSEGV => " (SIGSEGV: crashed)",
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGBUS => " (SIGBUS)",
                _ => "",
            };
            return format!("was killed by signal {signal}{name}");
        }
    }
    format!("ended ({status})")
}

/// A running `mask-curator-ml … --events`.
pub struct WorkerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<WorkerEvent>,
    /// The threads reading standard output and standard error.
    readers: Vec<std::thread::JoinHandle<()>>,
    stderr_tail: Arc<parking_lot::Mutex<VecDeque<String>>>,
    cancelled_at: Option<Instant>,
    terminated: bool,
    exit: Option<WorkerExit>,
}

impl WorkerProcess {
    /// Starts the worker found beside the running binary with `args` (a subcommand and
    /// its flags) and `--events`.
    pub fn spawn(args: &[OsString]) -> Result<Self, WorkerError> {
        let exe = std::env::current_exe().ok();
        Self::spawn_program(worker_path(exe.as_deref()), args)
    }

    /// Starts `program` (a worker binary) with `args` and `--events`.
    pub fn spawn_program(program: PathBuf, args: &[OsString]) -> Result<Self, WorkerError> {
        let mut child = Command::new(&program)
            .args(args)
            .arg("--events")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| WorkerError::Spawn {
                path: program.clone(),
                source,
            })?;
        let (tx, events) = crossbeam_channel::unbounded();
        let stderr_tail = Arc::new(parking_lot::Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || read_events(out, &tx)));
        }
        if let Some(err) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            readers.push(std::thread::spawn(move || read_log(err, &tx, &tail)));
        }
        Ok(WorkerProcess {
            stdin: child.stdin.take(),
            child,
            events,
            readers,
            stderr_tail,
            cancelled_at: None,
            terminated: false,
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The worker's events; its other output (standard error, stray lines) arrives as
    /// [`WorkerEvent::Log`]. The channel closes when the worker's outputs close.
    pub fn events(&self) -> &Receiver<WorkerEvent> {
        &self.events
    }

    /// Asks the worker to stop after its current batch. If it has not stopped after
    /// [`CANCEL_GRACE`], [`WorkerProcess::try_wait`] sends SIGTERM, and after twice that
    /// SIGKILL.
    pub fn cancel(&mut self) {
        if self.cancelled_at.is_some() {
            return;
        }
        self.cancelled_at = Some(Instant::now());
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{CANCEL}");
            let _ = stdin.flush();
        }
    }

    /// Every line the worker wrote has been read and taken from [`WorkerProcess::events`]:
    /// after the worker ended, nothing more will come.
    pub fn outputs_drained(&self) -> bool {
        self.readers.iter().all(|r| r.is_finished()) && self.events.is_empty()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled_at.is_some()
    }

    /// How the worker ended, or `None` while it runs. Escalates a cancel that is not
    /// obeyed.
    pub fn try_wait(&mut self) -> Option<WorkerExit> {
        if let Some(exit) = &self.exit {
            return Some(exit.clone());
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                let exit = WorkerExit::of(status);
                self.exit = Some(exit.clone());
                Some(exit)
            }
            Ok(None) => {
                self.escalate();
                None
            }
            Err(e) => {
                let exit = WorkerExit {
                    success: false,
                    description: format!("cannot be waited for: {e}"),
                };
                self.exit = Some(exit.clone());
                Some(exit)
            }
        }
    }

    /// Waits for the worker to end.
    pub fn wait(&mut self) -> WorkerExit {
        if let Some(exit) = &self.exit {
            return exit.clone();
        }
        let exit = match self.child.wait() {
            Ok(status) => WorkerExit::of(status),
            Err(e) => WorkerExit {
                success: false,
                description: format!("cannot be waited for: {e}"),
            },
        };
        self.exit = Some(exit.clone());
        exit
    }

    /// The last lines the worker wrote on standard error.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail.lock().iter().cloned().collect()
    }

    /// Why a worker that ended without reporting its end did so: how it ended, and its
    /// last words on standard error.
    pub fn failure_reason(&self, exit: &WorkerExit) -> String {
        let last = self
            .stderr_tail()
            .into_iter()
            .rev()
            .find(|l| !l.trim().is_empty());
        match last {
            Some(line) => format!("the training worker {} ({line})", exit.description),
            None => format!("the training worker {}", exit.description),
        }
    }

    fn escalate(&mut self) {
        let Some(at) = self.cancelled_at else { return };
        let waited = at.elapsed();
        if waited >= CANCEL_GRACE * 2 {
            let _ = self.child.kill();
        } else if waited >= CANCEL_GRACE && !self.terminated {
            self.terminated = true;
            self.signal_term();
        }
    }

    #[cfg(unix)]
    fn signal_term(&self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; it has not been reaped yet (try_wait
            // returned None just before), so the pid cannot name another process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }

    #[cfg(not(unix))]
    fn signal_term(&mut self) {
        let _ = self.child.kill();
    }
}

impl Drop for WorkerProcess {
    /// A front end that goes away stops its worker: closing standard input is the
    /// worker's cancel.
    fn drop(&mut self) {
        self.stdin.take();
    }
}

fn read_events(out: impl std::io::Read, tx: &Sender<WorkerEvent>) {
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let event = WorkerEvent::parse(&line).unwrap_or(WorkerEvent::Log { text: line });
        if tx.send(event).is_err() {
            break;
        }
    }
}

fn read_log(
    err: impl std::io::Read,
    tx: &Sender<WorkerEvent>,
    tail: &parking_lot::Mutex<VecDeque<String>>,
) {
    for line in BufReader::new(err).lines() {
        let Ok(line) = line else { break };
        {
            let mut tail = tail.lock();
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line.clone());
        }
        if tx.send(WorkerEvent::Log { text: line }).is_err() {
            break;
        }
    }
}

/// Marks a run the worker left unfinished as failed with `reason` (its `run.json` still
/// says running). Nothing is done to a run that reached an end of its own.
pub fn mark_run_failed(run: &RunDir, reason: &str) -> Option<RunInfo> {
    let info = run.read_info().ok()?;
    if info.status != RunStatus::Running {
        return Some(info);
    }
    crate::ml::run::refresh_info(run, None, Some(reason.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_worker_is_an_error_naming_it() {
        let err = match WorkerProcess::spawn_program(
            PathBuf::from("/nonexistent/mask-curator-ml"),
            &[OsString::from("doctor")],
        ) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a missing worker started"),
        };
        assert!(err.contains("/nonexistent/mask-curator-ml"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn events_logs_and_a_signal_death_are_reported() {
        // A stand-in worker: one event, one line on stderr, then killed by a signal.
        let script = format!(
            "echo '{}'; echo 'something went wrong' >&2; kill -9 $$",
            WorkerEvent::Log {
                text: "hello".into()
            }
            .to_line()
        );
        let mut w = WorkerProcess::spawn_program(
            PathBuf::from("sh"),
            &[OsString::from("-c"), OsString::from(script)],
        )
        .unwrap();
        let exit = w.wait();
        assert!(!exit.success);
        assert!(
            exit.description.contains("signal 9"),
            "{}",
            exit.description
        );
        let events: Vec<WorkerEvent> = w.events().iter().collect();
        assert!(events.contains(&WorkerEvent::Log {
            text: "hello".into()
        }));
        assert!(events.contains(&WorkerEvent::Log {
            text: "something went wrong".into()
        }));
        let reason = w.failure_reason(&exit);
        assert!(
            reason.contains("signal 9") && reason.contains("something went wrong"),
            "{reason}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_cancel_line_reaches_the_worker() {
        // Stops when it reads "cancel" on stdin.
        let mut w = WorkerProcess::spawn_program(
            PathBuf::from("sh"),
            &[
                OsString::from("-c"),
                OsString::from("read line; [ \"$line\" = cancel ] && exit 3; exit 4"),
            ],
        )
        .unwrap();
        w.cancel();
        assert_eq!(w.wait().description, "exited with status 3");
    }
}
