//! The worker pool and its bounded LIFO queue.

use super::{cache, DiskCache, Thumb, ThumbConfig, ThumbError};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

type Ready = (PathBuf, Result<Thumb, ThumbError>);
type Waker = Box<dyn Fn() + Send + Sync>;

/// Counters since start (`pending`, `in_flight`, `ready` are current sizes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThumbStats {
    pub requested: u64,
    pub dropped_unwanted: u64,
    pub dropped_overflow: u64,
    pub cancelled: u64,
    pub decoded: u64,
    pub cache_hits: u64,
    pub failed: u64,
    pub cache_write_errors: u64,
    /// Total worker time spent decoding source photos / reading cache entries.
    pub decode_nanos: u64,
    pub cache_read_nanos: u64,
    pub pending: usize,
    pub in_flight: usize,
    pub ready: usize,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    /// Pending requests by arrival; the largest key is served first.
    pending: BTreeMap<u64, PathBuf>,
    pending_seq: HashMap<PathBuf, u64>,
    in_flight: HashSet<PathBuf>,
    ready: VecDeque<Ready>,
    ready_paths: HashSet<PathBuf>,
    paused: bool,
    shutdown: bool,
    stats: ThumbStats,
}

impl State {
    fn remove_pending(&mut self, seq: u64) -> Option<PathBuf> {
        let path = self.pending.remove(&seq)?;
        self.pending_seq.remove(&path);
        Some(path)
    }
}

struct Shared {
    state: Mutex<State>,
    work_available: Condvar,
    on_ready: RwLock<Option<Waker>>,
    max_w: u32,
    max_h: u32,
    queue_cap: usize,
    cache: Option<DiskCache>,
}

/// Decodes thumbnails on a fixed pool of threads. Dropping it stops the workers (a decode
/// in progress finishes first).
pub struct Thumbnailer {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Thumbnailer {
    pub fn new(cfg: ThumbConfig) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work_available: Condvar::new(),
            on_ready: RwLock::new(None),
            max_w: cfg.max_w.max(1),
            max_h: cfg.max_h.max(1),
            queue_cap: cfg.queue_cap.max(1),
            cache: cfg
                .disk_cache
                .map(|dir| DiskCache::new(dir, cfg.max_w.max(1), cfg.max_h.max(1))),
        });
        let workers = (0..cfg.workers.max(1))
            .filter_map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("thumbs-{i}"))
                    .spawn(move || {
                        lower_thread_priority();
                        worker_loop(&shared)
                    })
                    .ok()
            })
            .collect();
        Thumbnailer { shared, workers }
    }

    /// Called from a worker thread each time a result becomes ready (e.g. to request a
    /// repaint). Keep it cheap.
    pub fn set_on_ready(&self, wake: Box<dyn Fn() + Send + Sync>) {
        *self.shared.on_ready.write() = Some(wake);
    }

    /// Asks for the thumbnail of `path`. No-op when it is already pending, being decoded
    /// or ready to poll. Returns the oldest pending requests dropped to stay within
    /// `queue_cap` (usually none), so the caller can forget it asked for them.
    pub fn request(&self, path: &Path) -> Vec<PathBuf> {
        let mut st = self.shared.state.lock();
        if st.pending_seq.contains_key(path)
            || st.in_flight.contains(path)
            || st.ready_paths.contains(path)
        {
            return Vec::new();
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        st.pending.insert(seq, path.to_path_buf());
        st.pending_seq.insert(path.to_path_buf(), seq);
        st.stats.requested += 1;
        let mut dropped = Vec::new();
        while st.pending.len() > self.shared.queue_cap {
            let Some((&oldest, _)) = st.pending.first_key_value() else {
                break;
            };
            dropped.extend(st.remove_pending(oldest));
            st.stats.dropped_overflow += 1;
        }
        drop(st);
        self.shared.work_available.notify_one();
        dropped
    }

    /// Drops every pending request and every finished result for which `keep` is false
    /// (rows scrolled out of view) and returns their paths. Decodes already running are
    /// kept. Finished results go too: while the grid scrolls fast the workers finish
    /// thumbnails faster than a frame uploads them, and results nobody wants any more
    /// would pile up in memory (the disk cache makes asking again cheap).
    pub fn retain(&self, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
        let mut st = self.shared.state.lock();
        let drop_seqs: Vec<u64> = st
            .pending
            .iter()
            .filter(|(_, p)| !keep(p))
            .map(|(&seq, _)| seq)
            .collect();
        let mut dropped: Vec<PathBuf> = drop_seqs
            .iter()
            .filter_map(|&seq| st.remove_pending(seq))
            .collect();
        let ready = std::mem::take(&mut st.ready);
        for (path, result) in ready {
            if keep(&path) {
                st.ready.push_back((path, result));
            } else {
                st.ready_paths.remove(&path);
                dropped.push(path);
            }
        }
        st.stats.dropped_unwanted += dropped.len() as u64;
        dropped
    }

    /// Whether `path` is pending, being decoded, or ready to poll.
    pub fn is_queued(&self, path: &Path) -> bool {
        let st = self.shared.state.lock();
        st.pending_seq.contains_key(path)
            || st.in_flight.contains(path)
            || st.ready_paths.contains(path)
    }

    /// Takes up to `max` finished results, oldest first.
    pub fn poll_ready(&self, max: usize) -> Vec<(PathBuf, Result<Thumb, ThumbError>)> {
        let mut st = self.shared.state.lock();
        let n = max.min(st.ready.len());
        let out: Vec<Ready> = st.ready.drain(..n).collect();
        for (path, _) in &out {
            st.ready_paths.remove(path);
        }
        out
    }

    /// Takes the oldest finished result, if any.
    pub fn poll_one(&self) -> Option<(PathBuf, Result<Thumb, ThumbError>)> {
        let mut st = self.shared.state.lock();
        let ready = st.ready.pop_front()?;
        st.ready_paths.remove(&ready.0);
        Some(ready)
    }

    /// Drops all pending requests (e.g. when another dataset is opened).
    pub fn cancel_all(&self) {
        let mut st = self.shared.state.lock();
        st.stats.cancelled += st.pending.len() as u64;
        st.pending.clear();
        st.pending_seq.clear();
    }

    /// Holds the workers after their current decode (requests still queue up), e.g. while
    /// a training run needs the cores.
    pub fn set_paused(&self, paused: bool) {
        self.shared.state.lock().paused = paused;
        if !paused {
            self.shared.work_available.notify_all();
        }
    }

    pub fn stats(&self) -> ThumbStats {
        let st = self.shared.state.lock();
        ThumbStats {
            pending: st.pending.len(),
            in_flight: st.in_flight.len(),
            ready: st.ready.len(),
            ..st.stats
        }
    }

    /// The thumbnail box results fit in.
    pub fn max_size(&self) -> (u32, u32) {
        (self.shared.max_w, self.shared.max_h)
    }
}

impl Drop for Thumbnailer {
    fn drop(&mut self) {
        self.shared.state.lock().shutdown = true;
        self.shared.work_available.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn worker_loop(shared: &Shared) {
    loop {
        let path = {
            let mut st = shared.state.lock();
            loop {
                if st.shutdown {
                    return;
                }
                if !st.paused {
                    if let Some((_, path)) = st.pending.pop_last() {
                        st.pending_seq.remove(&path);
                        st.in_flight.insert(path.clone());
                        break path;
                    }
                }
                shared.work_available.wait(&mut st);
            }
        };

        let started = Instant::now();
        // A panic anywhere in the job (decoder, cache) is an error for this photo: the
        // worker must live on, or every later request would stay pending forever.
        let result = catch_unwind(AssertUnwindSafe(|| {
            cache::lookup_or_decode(&path, shared.max_w, shared.max_h, shared.cache.as_ref())
        }))
        .unwrap_or_else(|panic| Err(crashed(&path, &*panic)));
        let nanos = started.elapsed().as_nanos() as u64;

        // Hand the pixels out first; the cache write happens after the UI has them.
        let mut to_store = None;
        {
            let mut st = shared.state.lock();
            st.in_flight.remove(&path);
            let result = match result {
                Ok((thumb, None)) => {
                    st.stats.cache_hits += 1;
                    st.stats.cache_read_nanos += nanos;
                    Ok(thumb)
                }
                Ok((thumb, Some(stamp))) => {
                    st.stats.decoded += 1;
                    st.stats.decode_nanos += nanos;
                    if shared.cache.is_some() {
                        to_store = Some((stamp, thumb.clone()));
                    }
                    Ok(thumb)
                }
                Err(e) => {
                    st.stats.failed += 1;
                    Err(e)
                }
            };
            st.ready_paths.insert(path.clone());
            st.ready.push_back((path.clone(), result));
        }
        if let Some(wake) = shared.on_ready.read().as_ref() {
            // The caller's waker runs here too; its panic must not end the worker either.
            let _ = catch_unwind(AssertUnwindSafe(wake));
        }
        if let (Some(cache), Some((stamp, thumb))) = (&shared.cache, to_store) {
            let stored = catch_unwind(AssertUnwindSafe(|| cache.store(&path, stamp, &thumb)));
            if !matches!(stored, Ok(Ok(()))) {
                shared.state.lock().stats.cache_write_errors += 1;
            }
        }
    }
}

fn crashed(path: &Path, panic: &(dyn std::any::Any + Send)) -> ThumbError {
    ThumbError::corrupt(
        path,
        format!(
            "the decoder failed on this file ({})",
            super::decode::panic_message(panic)
        ),
    )
}

/// Decoding must never take a core from the UI thread: on a 2-core machine two busy
/// workers at normal priority make scrolling stutter. Linux applies nice to a thread id.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions; setpriority only reads its arguments, and a
    // failure (e.g. a sandbox forbidding it) just leaves the priority as it was.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}
