//! The worker's command line: `train`, `predict` and `doctor`, with the same flags as
//! `mask-curator train` / `predict` / `doctor`, which run this binary. With `--events` the
//! worker speaks the line protocol of `mask_curator::ml::protocol` (events on standard
//! output, commands on standard input) instead of drawing progress bars.

use clap::{Parser, Subcommand};
use mask_curator::ml::protocol::{WorkerEvent, CANCEL};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub mod doctor;
pub mod predict;
pub mod train;

/// Trains and runs the models of mask-curator on libtorch (the process that links it).
#[derive(Debug, Parser)]
#[command(name = "mask-curator-ml", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Report through the line protocol (JSON events on standard output, `cancel` read
    /// from standard input) instead of progress bars: how the app runs the worker.
    #[arg(long, global = true)]
    pub events: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the torch version, CUDA availability, device and threads.
    Doctor(doctor::Args),
    /// Train models (k-fold by person) and write out-of-fold probabilities.
    Train(train::Args),
    /// Ensemble inference on eval/info.csv, writing a submission CSV.
    Predict(predict::Args),
}

/// How the worker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Progress bars and text on a terminal.
    Terminal,
    /// Protocol lines for a front end.
    Lines,
}

impl Report {
    /// The flag that stops training. With protocol lines, a `cancel` line on standard
    /// input sets it, and so does the end of standard input: the front end is gone, and a
    /// run nobody follows should stop at the next batch rather than hold the machine.
    pub fn cancel_flag(self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        if self == Report::Lines {
            let set = Arc::clone(&flag);
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    match line {
                        Ok(l) if l.trim() == CANCEL => break,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                set.store(true, Ordering::Relaxed);
            });
        }
        flag
    }
}

/// Writes one protocol line on standard output, flushed at once (the front end follows
/// the run live).
pub fn emit(event: &WorkerEvent) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", event.to_line());
    let _ = out.flush();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let report = if cli.events {
        Report::Lines
    } else {
        Report::Terminal
    };
    match cli.command {
        Command::Doctor(a) => doctor::run(a),
        Command::Train(a) => train::run(a, report),
        Command::Predict(a) => predict::run(a, report),
    }
}
