//! Politeness: how many requests one host gets at once and how far apart they start.
//!
//! Every request the crawler makes (robots.txt, pages, sitemaps, feeds, images) passes a per-host
//! gate first: at most `per_host` requests in flight, and each request *starts* at least `delay`
//! after the previous one started. The delay is `max(min_host_delay, Crawl-delay)` and rises once the
//! host's robots.txt is read. Spacing starts (rather than ends) is what `Crawl-delay` is usually read
//! as, and it gives a host a predictable request rate whatever its response times.
//!
//! A host that answers 429 or 503 with `Retry-After` is held: no request to it starts before the time
//! it named ([`HostGate::hold`]).
//!
//! A gate only holds its slot while the fetch runs (not during retry backoff), and the crawl-wide
//! fetch permit is taken only once the host's delay has passed, so a host with a long Crawl-delay
//! does not sit on permits that other hosts could use. The crawl-wide permits exist because the
//! fetcher counts the wait for its own permits against each fetch's deadline: queueing more fetches
//! than it runs at once would turn waiting into timeouts.
//!
//! Hosts are keyed by authority (host and port). Redirect hops are followed inside the fetcher, which
//! calls back before each hop: the hop waits for its host's delay ([`HostGate::pace`]) without taking
//! a slot (the request it continues already holds one), so a redirect loop cannot burst past a
//! site's `Crawl-delay`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The right to make one request: the host's slot and a crawl-wide slot, released on drop.
pub(crate) struct Pass {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

struct GateState {
    last_start: Option<Instant>,
    delay: Duration,
    /// No request starts before this: the host answered `Retry-After`.
    hold_until: Option<Instant>,
}

impl GateState {
    /// When the next request may start: `delay` after the last start, and not before a hold ends.
    fn ready_at(&self) -> Option<Instant> {
        let spaced = self.last_start.map(|t| t + self.delay);
        match (spaced, self.hold_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One host's gate.
pub(crate) struct HostGate {
    slots: Arc<Semaphore>,
    state: Mutex<GateState>,
}

impl HostGate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises the delay to at least `delay` (never lowers it: the configured minimum stays).
    pub(crate) fn raise_delay(&self, delay: Duration) {
        let mut state = self.state();
        state.delay = state.delay.max(delay);
    }

    /// Holds every request to the host for `wait` from now (a `Retry-After` answer); holds only
    /// ever lengthen.
    pub(crate) fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state();
        state.hold_until = Some(state.hold_until.map_or(until, |h| h.max(until)));
    }

    /// Waits for a host slot, the host's delay and a crawl-wide slot, in that order. `None` only if a
    /// semaphore was closed, which the crawl never does.
    pub(crate) async fn pass(&self, global: &Arc<Semaphore>) -> Option<Pass> {
        let host = Arc::clone(&self.slots).acquire_owned().await.ok()?;
        let global = self.claim_start(Some(global)).await?;
        Some(Pass { _host: host, _global: global? })
    }

    /// Waits for the host's delay and claims a start time, without taking a slot: for a redirect hop,
    /// which continues a request that already holds one.
    pub(crate) async fn pace(&self) {
        let _ = self.claim_start(None).await;
    }

    /// Waits until a request may start, takes a crawl-wide slot if `global` is given, and claims the
    /// start time. `None` only if the semaphore was closed.
    async fn claim_start(&self, global: Option<&Arc<Semaphore>>) -> Option<Option<OwnedSemaphorePermit>> {
        loop {
            let ready_at = self.state().ready_at();
            if let Some(at) = ready_at.filter(|at| *at > Instant::now()) {
                tokio::time::sleep_until(at).await;
                continue;
            }
            let permit = match global {
                Some(g) => Some(Arc::clone(g).acquire_owned().await.ok()?),
                None => None,
            };
            // Another request to this host may have started while we waited for the global slot;
            // check again under the lock and claim the start time.
            let mut state = self.state();
            let now = Instant::now();
            if state.ready_at().is_some_and(|t| t > now) {
                continue;
            }
            state.last_start = Some(now);
            return Some(permit);
        }
    }
}

/// All hosts' gates for one crawl.
pub(crate) struct Gates {
    gates: Mutex<HashMap<String, Arc<HostGate>>>,
    per_host: usize,
    min_delay: Duration,
}

impl Gates {
    pub(crate) fn new(per_host: usize, min_delay: Duration) -> Gates {
        Gates { gates: Mutex::new(HashMap::new()), per_host: per_host.max(1), min_delay }
    }

    /// The gate of `authority` (see [`crate::frontier::authority`]), created on first use.
    pub(crate) fn gate(&self, authority: &str) -> Arc<HostGate> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(gates.entry(authority.to_owned()).or_insert_with(|| {
            Arc::new(HostGate {
                slots: Arc::new(Semaphore::new(self.per_host)),
                state: Mutex::new(GateState { last_start: None, delay: self.min_delay, hold_until: None }),
            })
        }))
    }
}

/// The wait before attempt `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)`, at most
/// `max`.
pub(crate) fn backoff(base: Duration, attempt: u32, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let got: Vec<u128> = (1..=6).map(|a| backoff(b, a, max).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(b, 60, max), max);
    }
}
