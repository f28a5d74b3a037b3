//! `train`, `predict` and `doctor`: carried out by the training worker `mask-curator-ml`
//! (the one binary that links libtorch), which takes the same flags and prints the same
//! output. This process hands its place to the worker, so Ctrl-C, exit codes and
//! terminals behave as if the worker had been started directly.

use clap::Args as ClapArgs;
use std::ffi::OsString;
use std::process::Command;

/// The flags, passed to the worker as they are (`--help` included).
#[derive(Debug, ClapArgs)]
pub struct Forward {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

pub fn run(command: &str, forward: Forward) -> anyhow::Result<()> {
    let exe = std::env::current_exe().ok();
    let worker = crate::ml::protocol::worker_path(exe.as_deref());
    let mut cmd = Command::new(&worker);
    cmd.arg(command)
        .args(&forward.args)
        .env(crate::ml::protocol::BIN_NAME_ENV, "mask-curator");
    let cannot = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot run the training worker {}: {e} (`cargo build`, with or without --release, builds it beside \
             mask-curator)",
            worker.display()
        )
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Returns only when the worker could not be started.
        Err(cannot(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(cannot)?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
