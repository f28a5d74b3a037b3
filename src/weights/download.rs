//! Getting a backbone's pretrained weights onto disk, when the user asks: download (or
//! take a local `torch.save` file), check, convert to safetensors, install.
//!
//! - The download goes to `<models>/.<file>.partial`; an interrupted or cancelled
//!   download resumes from there (an HTTP range request) the next time.
//! - The file's SHA-256 must start with the hex its name carries (torch.hub's convention),
//!   and its tensors must be the backbone's: the parameter count without the classifier
//!   must be the published one. Otherwise nothing is installed.
//! - The weights are read without running the pickle (`torch_file`) and written as
//!   `<models>/<backbone>.safetensors` atomically, with where they came from in the header.
//!   An existing file is replaced only when asked.

use super::catalog::{self, Published};
use super::safetensors;
use super::torch_file::{self, NamedTensor};
use super::WeightsError;
use crate::ml::config::Backbone;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// An http(s) address of a `torch.save` file.
    Url(String),
    /// A `torch.save` file already on disk (torch.hub's cache, a colleague's copy).
    File(PathBuf),
}

/// One install request.
#[derive(Debug, Clone)]
pub struct Request {
    pub backbone: Backbone,
    pub models_dir: PathBuf,
    pub source: Source,
    /// Replace an installed file of this backbone.
    pub replace: bool,
}

impl Request {
    /// The published weights of `backbone` from torchvision (or the mirror `mirror`).
    pub fn published(
        backbone: Backbone,
        models_dir: &Path,
        mirror: Option<&str>,
    ) -> Result<Request, WeightsError> {
        let p = published_or_refuse(backbone)?;
        Ok(Request {
            backbone,
            models_dir: models_dir.to_path_buf(),
            source: Source::Url(p.url(mirror)),
            replace: false,
        })
    }
}

/// Bytes received so far, of `total` when the server said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub received: u64,
    pub total: Option<u64>,
}

/// What was installed.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    pub path: PathBuf,
    pub source: String,
    pub sha256: String,
    /// Tensors written (BatchNorm's step counters are left out: the worker has none).
    pub tensors: usize,
    /// Parameters of the backbone without its ImageNet classifier.
    pub backbone_params: u64,
    /// Bytes taken over from an earlier, interrupted download.
    pub resumed_from: u64,
}

/// A download larger than the published size times this is refused.
const SIZE_SLACK: u64 = 2;
const CHUNK: usize = 256 * 1024;

fn published_or_refuse(backbone: Backbone) -> Result<&'static Published, WeightsError> {
    catalog::published(backbone).ok_or_else(|| {
        WeightsError::Refused(format!(
            "{} has no pretrained weights (it is trained from scratch)",
            backbone.name()
        ))
    })
}

/// Installs the weights `req` asks for. `progress` is called as bytes arrive; `cancel`
/// stops the download between chunks (the partial file stays, for a later resume).
pub fn install(
    req: &Request,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Installed, WeightsError> {
    let published = published_or_refuse(req.backbone)?;
    let target = catalog::weights_file(&req.models_dir, req.backbone);
    if !req.replace {
        if let Some(existing) = catalog::installed(&req.models_dir, req.backbone) {
            return Err(WeightsError::Refused(format!(
                "{} is installed already; --replace downloads it again",
                existing.display()
            )));
        }
    }
    crate::workspace::create_dir_all_synced(&req.models_dir).map_err(|e| WeightsError::File {
        path: req.models_dir.clone(),
        message: format!("cannot create the folder: {e}"),
    })?;
    match &req.source {
        Source::File(path) => {
            let name = file_name(&path.to_string_lossy());
            let sha256 = sha256_of(path)?;
            check_prefix(&name, &sha256, &path.display().to_string())?;
            convert(
                path,
                &target,
                published,
                &path.display().to_string(),
                &sha256,
                0,
            )
        }
        Source::Url(url) => {
            let name = file_name(url);
            let partial = req.models_dir.join(format!(".{name}.partial"));
            let resumed_from = download(url, &partial, published, cancel, progress)?;
            let sha256 = sha256_of(&partial)?;
            if let Err(e) = check_prefix(&name, &sha256, url) {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
            let installed = convert(&partial, &target, published, url, &sha256, resumed_from);
            // A complete download that is not the backbone's weights is of no use later.
            let _ = std::fs::remove_file(&partial);
            installed
        }
    }
}

/// The last path segment of a URL or path, without a query.
fn file_name(url_or_path: &str) -> String {
    let no_query = url_or_path.split(['?', '#']).next().unwrap_or(url_or_path);
    no_query
        .rsplit(['/', '\\'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("weights.pth")
        .to_string()
}

fn check_prefix(name: &str, sha256: &str, from: &str) -> Result<(), WeightsError> {
    match catalog::sha256_prefix(name) {
        Some(prefix) if !sha256.starts_with(prefix) => Err(WeightsError::Refused(format!(
            "{from}: damaged or not the published file: its SHA-256 is {sha256}, its name promises one starting {prefix}; nothing was installed"
        ))),
        _ => Ok(()),
    }
}

fn sha256_of(path: &Path) -> Result<String, WeightsError> {
    let mut file = std::fs::File::open(path).map_err(|e| WeightsError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| WeightsError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Downloads `url` into `partial`, resuming what is there. Returns the bytes resumed from.
fn download(
    url: &str,
    partial: &Path,
    published: &Published,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, WeightsError> {
    let http = |message: String| WeightsError::Http {
        url: url.to_string(),
        message,
    };
    let file_err = |e: std::io::Error| WeightsError::File {
        path: partial.to_path_buf(),
        message: e.to_string(),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(http("only http and https addresses are downloaded".into()));
    }
    let limit = published.bytes() * SIZE_SLACK;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("mask-curator/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut have = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    if have > limit {
        have = 0;
    }
    let mut retried_from_zero = false;
    let (response, start) = loop {
        let mut request = agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request
            .call()
            .map_err(|e| http(format!("{e}; nothing was installed")))?;
        let status = response.status().as_u16();
        match status {
            206 if have > 0 => {
                // The server must continue where the partial file ends.
                let from = response
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if from == Some(have) {
                    break (response, have);
                }
                have = 0;
            }
            200 => break (response, 0),
            416 if have > 0 && !retried_from_zero => {
                // The partial file is not a prefix the server knows: start again.
                retried_from_zero = true;
                have = 0;
            }
            _ => {
                return Err(http(format!(
                    "the server answered HTTP {status}{}",
                    response
                        .status()
                        .canonical_reason()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default()
                )))
            }
        }
    };
    let remaining = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let total = remaining.map(|r| r + start);
    if let Some(total) = total {
        if total > limit {
            return Err(http(format!(
                "{total} bytes, more than twice the published {} MiB; not downloaded",
                published.mebibytes
            )));
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(partial)
        .map_err(file_err)?;
    file.set_len(start).map_err(file_err)?;
    file.seek(std::io::SeekFrom::Start(start))
        .map_err(file_err)?;
    let mut reader = response.into_body().into_reader();
    let mut received = start;
    let mut buf = vec![0u8; CHUNK];
    progress(Progress { received, total });
    loop {
        if cancel.load(Ordering::Relaxed) {
            file.sync_all().map_err(file_err)?;
            return Err(WeightsError::Cancelled);
        }
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.sync_all().map_err(file_err)?;
                return Err(http(format!(
                    "the download stopped at {received} bytes ({e}); run it again to resume"
                )));
            }
        };
        if n == 0 {
            break;
        }
        received += n as u64;
        if received > limit {
            drop(file);
            let _ = std::fs::remove_file(partial);
            return Err(http(format!(
                "more than twice the published {} MiB; stopped and deleted",
                published.mebibytes
            )));
        }
        file.write_all(&buf[..n]).map_err(file_err)?;
        progress(Progress { received, total });
    }
    file.sync_all().map_err(file_err)?;
    if let Some(total) = total {
        if received != total {
            return Err(http(format!(
                "the download stopped at {received} of {total} bytes; run it again to resume"
            )));
        }
    }
    Ok(start)
}

/// BatchNorm's step counter: torchvision saves it, the worker's networks have none.
fn is_step_counter(name: &str) -> bool {
    name.ends_with("num_batches_tracked")
}

/// Parameters of the backbone proper: no running statistics, no ImageNet classifier.
pub fn backbone_params(tensors: &[NamedTensor]) -> u64 {
    tensors
        .iter()
        .filter(|t| {
            !(t.name.ends_with("running_mean")
                || t.name.ends_with("running_var")
                || is_step_counter(&t.name)
                || t.name.starts_with("fc.")
                || t.name.starts_with("classifier."))
        })
        .map(|t| t.numel() as u64)
        .sum()
}

fn convert(
    from: &Path,
    target: &Path,
    published: &Published,
    source: &str,
    sha256: &str,
    resumed_from: u64,
) -> Result<Installed, WeightsError> {
    let tensors: Vec<NamedTensor> = torch_file::read_state_dict(from)?
        .into_iter()
        .filter(|t| !is_step_counter(&t.name))
        .collect();
    let params = backbone_params(&tensors);
    if params != published.backbone_params() {
        return Err(WeightsError::Refused(format!(
            "{source}: not {} weights: its backbone has {params} parameters, {} has {}; nothing was installed",
            published.backbone.name(),
            published.backbone.name(),
            published.backbone_params()
        )));
    }
    let metadata = BTreeMap::from([
        ("source".to_string(), source.to_string()),
        ("sha256".to_string(), sha256.to_string()),
        (
            "weights".to_string(),
            format!("torchvision {}", published.weights),
        ),
        (
            "backbone".to_string(),
            published.backbone.name().to_string(),
        ),
    ]);
    safetensors::write(target, &tensors, &metadata)?;
    Ok(Installed {
        path: target.to_path_buf(),
        source: source.to_string(),
        sha256: sha256.to_string(),
        tensors: tensors.len(),
        backbone_params: params,
        resumed_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_last_segment() {
        assert_eq!(
            file_name("https://h/models/resnet18-f37072fd.pth?x=1"),
            "resnet18-f37072fd.pth"
        );
        assert_eq!(file_name("/tmp/a/b.pth"), "b.pth");
        assert_eq!(file_name("http://h/"), "weights.pth");
    }

    #[test]
    fn a_wrong_hash_is_refused() {
        assert!(check_prefix("resnet18-f37072fd.pth", "f37072fdab", "u").is_ok());
        assert!(check_prefix("resnet18.pth", "00", "u").is_ok());
        let err = check_prefix("resnet18-f37072fd.pth", "0037072fab", "u")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f37072fd") && err.contains("nothing was installed"));
    }

    #[test]
    fn the_small_cnn_has_nothing_to_download() {
        let dir = tempfile::tempdir().unwrap();
        let err = Request::published(Backbone::SmallCnn, dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("small_cnn"));
    }

    #[test]
    fn a_local_file_of_another_model_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let req = Request {
            backbone: Backbone::Resnet18,
            models_dir: dir.path().join("models"),
            source: Source::File(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/weights/small_state_dict.pth"),
            ),
            replace: false,
        };
        let err = install(&req, &AtomicBool::new(false), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("not resnet18 weights"), "{err}");
        assert!(!catalog::weights_file(&req.models_dir, Backbone::Resnet18).exists());
    }
}
