//! `mask-curator-ml`: the training worker. The only binary that links libtorch; the app
//! and `mask-curator train` / `predict` / `doctor` run it.

use clap::Parser;
use mask_curator::ml::protocol::WorkerEvent;
use mask_curator_ml::cli::{emit, run, Cli};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let events = cli.events;
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}");
            if events {
                emit(&WorkerEvent::Error {
                    message: message.clone(),
                });
            }
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
