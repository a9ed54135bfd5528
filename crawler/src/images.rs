//! The per-crawl image cache: each image URL fetched once, its result shared, memory bounded.
//!
//! Pages of one site embed the same logo, banner and thumbnails over and over, and each page event
//! must carry its images' bytes so the platform can match it on its own. So every image URL maps to
//! a `tokio::sync::OnceCell`: the first page to need it fetches it, pages that need it meanwhile wait
//! for that fetch's result instead of starting their own, and later pages get the stored result.
//!
//! Results are kept in LRU order up to a byte budget (default 64 MiB). Entries still being fetched
//! are never evicted (their size is unknown and pages are waiting on them); finished ones are evicted
//! oldest-used first. An evicted image is fetched again if a later page embeds it: that costs a request
//! but keeps memory bounded, which matters more on a long crawl. Failures are cached as well (they
//! are small), so a broken image is not retried by every page that embeds it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use url::Url;

use crate::crawl::ImageResult;

/// What an entry costs besides its body: the URL, the map and the LRU entries.
const ENTRY_OVERHEAD: usize = 256;

struct Slot {
    cell: Arc<OnceCell<ImageResult>>,
    tick: u64,
    /// Accounted size once the result is in; 0 while in flight.
    size: usize,
}

struct Inner {
    slots: HashMap<Url, Slot>,
    /// tick → URL, oldest first.
    order: BTreeMap<u64, Url>,
    tick: u64,
    bytes: usize,
}

pub(crate) struct ImageCache {
    inner: Mutex<Inner>,
    cap: usize,
}

impl ImageCache {
    pub(crate) fn new(cap: usize) -> ImageCache {
        ImageCache {
            inner: Mutex::new(Inner { slots: HashMap::new(), order: BTreeMap::new(), tick: 0, bytes: 0 }),
            cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The result for `url`: cached, or awaited from a fetch already running, or loaded by `load`.
    /// `fresh` tells whether this call ran `load` (for counting fetches).
    pub(crate) async fn get<F, Fut>(&self, url: &Url, load: F) -> (ImageResult, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ImageResult>,
    {
        let cell = {
            let mut inner = self.lock();
            inner.tick += 1;
            let tick = inner.tick;
            let Inner { slots, order, .. } = &mut *inner;
            let slot = slots.entry(url.clone()).or_insert_with(|| Slot { cell: Arc::default(), tick, size: 0 });
            order.remove(&slot.tick);
            slot.tick = tick;
            order.insert(tick, url.clone());
            Arc::clone(&slot.cell)
        };
        let mut fresh = false;
        let result = cell
            .get_or_init(|| {
                fresh = true;
                load()
            })
            .await
            .clone();
        if fresh {
            self.account(url, &cell, &result);
        }
        (result, fresh)
    }

    /// Counts a finished result and evicts the oldest finished entries past the budget.
    fn account(&self, url: &Url, cell: &Arc<OnceCell<ImageResult>>, result: &ImageResult) {
        let size = ENTRY_OVERHEAD + url.as_str().len() + result.as_ref().map_or(0, |image| image.body.len());
        let mut inner = self.lock();
        match inner.slots.get_mut(url) {
            Some(slot) if Arc::ptr_eq(&slot.cell, cell) && slot.size == 0 => slot.size = size,
            _ => return,
        }
        inner.bytes += size;
        if inner.bytes <= self.cap {
            return;
        }
        let Inner { slots, order, bytes, .. } = &mut *inner;
        let mut evict = Vec::new();
        let mut over = *bytes - self.cap;
        for (tick, url) in order.iter() {
            if over == 0 {
                break;
            }
            if let Some(slot) = slots.get(url).filter(|s| s.size > 0) {
                over = over.saturating_sub(slot.size);
                evict.push((*tick, url.clone()));
            }
        }
        for (tick, url) in evict {
            order.remove(&tick);
            if let Some(slot) = slots.remove(&url) {
                *bytes -= slot.size;
            }
        }
    }

    /// Bytes accounted to finished entries (for tests and metrics).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::{Image, SkipReason};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn image(n: usize) -> ImageResult {
        Ok(Image { final_url: url(0), status: 200, content_type: None, body: bytes::Bytes::from(vec![0u8; n]) })
    }

    fn url(i: usize) -> Url {
        Url::parse(&format!("https://img.example/{i}.png")).expect("url")
    }

    #[tokio::test]
    async fn concurrent_askers_share_one_load_and_lru_evicts() {
        let cache = ImageCache::new(3 * (ENTRY_OVERHEAD + 40 + 1000));
        let loads = AtomicUsize::new(0);
        let load = |n| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                image(n)
            }
        };
        let one = url(1);
        let (a, b) = tokio::join!(cache.get(&one, load(1000)), cache.get(&one, load(1000)));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert!(a.1 ^ b.1, "exactly one of them loaded");
        for i in 2..=4 {
            let _ = cache.get(&url(i), load(1000)).await;
        }
        assert!(cache.bytes() <= 3 * (ENTRY_OVERHEAD + 40 + 1000));
        // 1 was the least recently used: evicted, so it loads again; 4 is still there.
        assert!(cache.get(&url(1), load(1000)).await.1);
        assert!(!cache.get(&url(4), load(1000)).await.1);
        // Failures are cached too.
        let failing = || async { Err(SkipReason::Status(404)) };
        assert!(cache.get(&url(9), failing).await.1);
        assert!(!cache.get(&url(9), failing).await.1);
    }
}
