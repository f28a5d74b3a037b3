//! `mask-curator weights`: which backbones have pretrained weights installed, and
//! `weights fetch BACKBONE` to download torchvision's ImageNet weights (or take a local
//! `torch.save` file) into `models/`, where training finds them. Only this command (and the
//! training panel's Download button) downloads anything.

use crate::ml::config::Backbone;
use crate::weights::catalog;
use crate::weights::download::{self, Request, Source};
use crate::weights::safetensors;
use clap::{Args as ClapArgs, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Where weights are kept: the folder `train --models` reads (default: models/ here).
    #[arg(long, global = true, default_value = "models")]
    pub models: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// List the backbones, their published weights and what is installed (the default).
    List,
    /// Download a backbone's ImageNet weights from torchvision (about 20-100 MB), check
    /// them and install them as models/<backbone>.safetensors. An interrupted download
    /// resumes.
    Fetch {
        /// resnet18, resnet34, resnet50, efficientnet_b0 … efficientnet_b4.
        #[arg(value_parser = parse_backbone)]
        backbone: Backbone,
        /// Download from this address instead (a torch.save file of the same network).
        /// Without it: torchvision's file, or the same file name under the folder URL in
        /// MASK_CURATOR_WEIGHTS_MIRROR.
        #[arg(long, conflicts_with = "from")]
        url: Option<String>,
        /// Install a torch.save file already on disk (e.g. from ~/.cache/torch/hub/checkpoints/).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Replace weights already installed for this backbone.
        #[arg(long)]
        replace: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action.unwrap_or(Action::List) {
        Action::List => {
            print!("{}", list_text(&args.models));
            Ok(())
        }
        Action::Fetch {
            backbone,
            url,
            from,
            replace,
        } => fetch(&args.models, backbone, url, from, replace),
    }
}

fn fetch(
    models: &Path,
    backbone: Backbone,
    url: Option<String>,
    from: Option<PathBuf>,
    replace: bool,
) -> anyhow::Result<()> {
    let mut req = Request::published(backbone, models, catalog::mirror_from_env().as_deref())?;
    req.replace = replace;
    if let Some(url) = url {
        req.source = Source::Url(url);
    }
    if let Some(from) = from {
        req.source = Source::File(from);
    }
    match &req.source {
        Source::Url(u) => eprintln!("downloading {u}"),
        Source::File(f) => eprintln!("reading {}", f.display()),
    }
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let installed = download::install(&req, &AtomicBool::new(false), &mut |p| {
        if let Some(total) = p.total {
            bar.set_length(total);
        }
        bar.set_position(p.received);
    });
    bar.finish_and_clear();
    let installed = installed?;
    if installed.resumed_from > 0 {
        println!(
            "resumed an interrupted download at {} bytes",
            installed.resumed_from
        );
    }
    println!(
        "installed {} ({} tensors, {} backbone parameters, sha256 {})",
        installed.path.display(),
        installed.tensors,
        installed.backbone_params,
        installed.sha256
    );
    println!(
        "`train --backbone {}` (or the training panel) now starts from these weights",
        backbone.name()
    );
    Ok(())
}

/// A backbone by its file name (`efficientnet_b0`; `efficientnet-b0` too).
fn parse_backbone(text: &str) -> Result<Backbone, String> {
    let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
    Backbone::ALL
        .into_iter()
        .find(|b| b.name() == wanted)
        .ok_or_else(|| {
            let names: Vec<&str> = Backbone::ALL.iter().map(|b| b.name()).collect();
            format!("not a backbone; one of {}", names.join(", "))
        })
}

/// One line per backbone: what is published, what is installed.
pub fn list_text(models: &Path) -> String {
    let mut out = format!("pretrained weights in {}\n", models.display());
    for b in Backbone::ALL {
        let Some(p) = catalog::published(b) else {
            out.push_str(&format!(
                "  {:<16} no pretrained weights (trained from scratch)\n",
                b.name()
            ));
            continue;
        };
        let state = match catalog::installed(models, b) {
            Some(path) => match safetensors::read_header(&path) {
                Ok(h) => format!(
                    "installed: {} ({} tensors{})",
                    path.display(),
                    h.tensors.len(),
                    h.metadata
                        .get("weights")
                        .map(|w| format!(", {w}"))
                        .unwrap_or_default()
                ),
                // An .ot file (libtorch's format) has no header to read here.
                Err(_) => format!("installed: {}", path.display()),
            },
            None => format!(
                "not installed: `mask-curator weights fetch {}` downloads {:.0} MiB",
                b.name(),
                p.mebibytes
            ),
        };
        out.push_str(&format!(
            "  {:<16} torchvision {} (ImageNet top-1 {:.1}%)  {state}\n",
            b.name(),
            p.weights,
            p.imagenet_top1
        ));
    }
    out
}
