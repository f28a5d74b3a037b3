//! `mask-curator-ml`: the training worker. The only binary that links libtorch; the app
//! and `mask-curator train` / `predict` / `doctor` run it.

use clap::{CommandFactory, FromArgMatches};
use mask_curator::ml::protocol::WorkerEvent;
use mask_curator_ml::cli::{emit, run, Cli};

fn main() -> std::process::ExitCode {
    // Run by `mask-curator train …`, usage and errors name that command.
    let mut command = Cli::command();
    if let Some(name) = std::env::var_os(mask_curator::ml::protocol::BIN_NAME_ENV) {
        command = command.bin_name(name.to_string_lossy().into_owned());
    }
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    let events = cli.events;
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let message = mask_curator::errors::describe(e.as_ref());
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
