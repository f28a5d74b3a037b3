//! A tiny work-sharing map over std threads: items are claimed one at a time from an
//! atomic counter, so slow items (big files, slow disks) do not stall a fixed chunk.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The thread count to use when the caller asks for 0 ("all cores").
pub(crate) fn resolve_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

/// Maps `f` over `items` on `threads` threads, returning results in item order.
/// `on_done(count)` is called after each item with the number of finished items.
/// Returns `None` when `cancel` was raised.
pub(crate) fn par_map<T, R, F>(
    items: &[T],
    threads: usize,
    cancel: Option<&AtomicBool>,
    on_done: &(dyn Fn(usize) + Sync),
    f: F,
) -> Option<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = resolve_threads(threads).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let worker = || {
        let mut out = Vec::new();
        loop {
            if cancelled() {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            out.push((i, f(item)));
            on_done(done.fetch_add(1, Ordering::Relaxed) + 1);
        }
        out
    };
    let mut parts: Vec<(usize, R)> = if threads <= 1 {
        worker()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
            let mut all = Vec::with_capacity(items.len());
            for h in handles {
                match h.join() {
                    Ok(part) => all.extend(part),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        })
    };
    if cancelled() {
        return None;
    }
    parts.sort_unstable_by_key(|(i, _)| *i);
    Some(parts.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_item_order_and_reports_progress() {
        let items: Vec<u64> = (0..1000).collect();
        let max_seen = AtomicUsize::new(0);
        let out = par_map(
            &items,
            2,
            None,
            &|n| {
                max_seen.fetch_max(n, Ordering::Relaxed);
            },
            |x| x * 2,
        )
        .unwrap();
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(max_seen.load(Ordering::Relaxed), 1000);
    }

    #[test]
    fn cancel_stops_early() {
        let items: Vec<u64> = (0..1000).collect();
        let cancel = AtomicBool::new(false);
        let out = par_map(
            &items,
            2,
            Some(&cancel),
            &|n| {
                if n == 10 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
            |x| *x,
        );
        assert!(out.is_none());
    }
}
