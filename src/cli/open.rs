use clap::Args as ClapArgs;
use std::path::PathBuf;

#[derive(Debug, Default, ClapArgs)]
pub struct Args {
    /// Dataset folder.
    pub dir: Option<PathBuf>,
    /// Open the demo dataset (generated when missing).
    #[arg(long)]
    pub demo: bool,
    /// Where the demo dataset lives.
    #[arg(long, default_value = "demo-data")]
    pub demo_dir: PathBuf,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
