use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = mask_curator::cli::Cli::parse();
    match mask_curator::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
