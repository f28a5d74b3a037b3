use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = mask_curator::cli::Cli::parse();
    match mask_curator::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", mask_curator::errors::describe(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
