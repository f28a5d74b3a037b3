//! Pretrained weights for the app's training panel: what is installed for a backbone, and
//! the download the user asks for, on a background thread with progress and cancel.

use crate::ml::config::Backbone;
use crate::weights::catalog;
use crate::weights::download::{self, Installed, Progress, Request};
use crate::weights::WeightsError;
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the panel says about a backbone's pretrained weights.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsState {
    /// The small CNN: trained from scratch, nothing to download.
    NonePublished,
    /// A file the worker will load.
    Installed(std::path::PathBuf),
    /// Published, not here: the download size in MiB.
    Missing { mebibytes: f64 },
}

pub fn state(models_dir: &Path, backbone: Backbone) -> WeightsState {
    match (
        catalog::published(backbone),
        catalog::installed(models_dir, backbone),
    ) {
        (_, Some(path)) => WeightsState::Installed(path),
        (None, None) => WeightsState::NonePublished,
        (Some(p), None) => WeightsState::Missing {
            mebibytes: p.mebibytes,
        },
    }
}

/// A download running on its own thread.
pub struct WeightsDownload {
    pub backbone: Backbone,
    cancel: Arc<AtomicBool>,
    progress: Arc<Mutex<Progress>>,
    done: crossbeam_channel::Receiver<Result<Installed, WeightsError>>,
}

impl WeightsDownload {
    /// Starts installing `backbone`'s published weights into `models_dir`: from `url`
    /// when given, else from `mirror` (see [`catalog::MIRROR_ENV`]) or torchvision.
    pub fn start(
        backbone: Backbone,
        models_dir: &Path,
        mirror: Option<&str>,
        url: Option<String>,
    ) -> Result<WeightsDownload, WeightsError> {
        let mut request = Request::published(backbone, models_dir, mirror)?;
        if let Some(url) = url {
            request.source = download::Source::Url(url);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Mutex::new(Progress {
            received: 0,
            total: None,
        }));
        let (tx, done) = crossbeam_channel::bounded(1);
        let (c, p) = (cancel.clone(), progress.clone());
        std::thread::Builder::new()
            .name("weights-download".into())
            .spawn(move || {
                let result = download::install(&request, &c, &mut |now| *p.lock() = now);
                let _ = tx.send(result);
            })
            .map_err(|e| WeightsError::Refused(format!("cannot start the download: {e}")))?;
        Ok(WeightsDownload {
            backbone,
            cancel,
            progress,
            done,
        })
    }

    pub fn progress(&self) -> Progress {
        *self.progress.lock()
    }

    /// Stops after the current chunk; what arrived stays for a later resume.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The outcome, once the download has ended.
    pub fn finished(&self) -> Option<Result<Installed, WeightsError>> {
        self.done.try_recv().ok()
    }
}
