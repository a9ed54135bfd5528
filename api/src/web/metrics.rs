//! Prometheus metrics at `/metrics`, in the text exposition format written by hand: a handful of
//! counters and one latency histogram do not justify a metrics framework.

use super::State;
use crate::monitor::ImageSnapshotState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 8] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0];
/// Route families counted separately.
const FAMILIES: [&str; 6] = ["seal", "api", "checkout", "page", "static", "other"];

/// Counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; FAMILIES.len()],
    latency: [[AtomicU64; BUCKETS.len() + 1]; FAMILIES.len()],
    latency_sum_us: [AtomicU64; FAMILIES.len()],
    /// Licences granted through checkout.
    pub licences_granted: AtomicU64,
    /// Webhooks refused (bad signature, stale).
    pub webhooks_refused: AtomicU64,
    /// Sign-ins refused by the rate limiter.
    pub sign_ins_limited: AtomicU64,
}

fn family(path: &str) -> usize {
    let f = if path.starts_with("/api/v1/seal") || path == "/seal.js" || path == "/badge.svg" {
        "seal"
    } else if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/checkout") || path.starts_with("/pay/") || path.starts_with("/webhooks/") {
        "checkout"
    } else if path.starts_with("/static/") {
        "static"
    } else if path.starts_with("/metrics") || path.starts_with("/healthz") {
        "other"
    } else {
        "page"
    };
    FAMILIES.iter().position(|x| *x == f).unwrap_or(FAMILIES.len() - 1)
}

/// Middleware: counts and times every request, and logs it (the seal's hot path only at debug level).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let fam = family(req.path());
    let state = req.app_data::<State>().cloned();
    // Cloning the URI shares its buffer instead of copying the path on every request.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = next.call(req).await?;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    if let Some(state) = state {
        let m = &state.metrics;
        m.requests[fam][usize::from(status / 100).clamp(1, 5) - 1].fetch_add(1, Relaxed);
        let bucket = BUCKETS.iter().position(|b| elapsed.as_secs_f64() <= *b).unwrap_or(BUCKETS.len());
        m.latency[fam][bucket].fetch_add(1, Relaxed);
        m.latency_sum_us[fam].fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }
    if FAMILIES[fam] == "seal" || FAMILIES[fam] == "static" {
        tracing::debug!(%method, path = uri.path(), status, elapsed_us = elapsed.as_micros() as u64, "request");
    } else {
        tracing::info!(%method, path = uri.path(), status, elapsed_us = elapsed.as_micros() as u64, "request");
    }
    Ok(res)
}

/// `GET /metrics`.
pub async fn render(state: State) -> HttpResponse {
    let m = &state.metrics;
    let mut s = String::new();
    s.push_str("# HELP seal_http_requests_total HTTP requests by route family and status class.\n");
    s.push_str("# TYPE seal_http_requests_total counter\n");
    for (f, name) in FAMILIES.iter().enumerate() {
        for (c, n) in m.requests[f].iter().enumerate() {
            let _ =
                writeln!(s, "seal_http_requests_total{{family=\"{name}\",status=\"{}xx\"}} {}", c + 1, n.load(Relaxed));
        }
    }
    s.push_str("# HELP seal_http_request_duration_seconds Request latency by route family.\n");
    s.push_str("# TYPE seal_http_request_duration_seconds histogram\n");
    for (f, name) in FAMILIES.iter().enumerate() {
        let mut cumulative = 0;
        for (i, n) in m.latency[f].iter().enumerate() {
            cumulative += n.load(Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
            let _ =
                writeln!(s, "seal_http_request_duration_seconds_bucket{{family=\"{name}\",le=\"{le}\"}} {cumulative}");
        }
        let sum = m.latency_sum_us[f].load(Relaxed) as f64 / 1e6;
        let _ = writeln!(s, "seal_http_request_duration_seconds_sum{{family=\"{name}\"}} {sum}");
        let _ = writeln!(s, "seal_http_request_duration_seconds_count{{family=\"{name}\"}} {cumulative}");
    }
    for (name, help, v) in [
        ("seal_licences_granted_total", "Licences granted through checkout.", &m.licences_granted),
        ("seal_webhooks_refused_total", "Payment webhooks refused.", &m.webhooks_refused),
        ("seal_sign_ins_limited_total", "Sign-in attempts refused by the rate limiter.", &m.sign_ins_limited),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
    }
    let _ = writeln!(
        s,
        "# HELP seal_sealed_works Works with a cached seal.\n# TYPE seal_sealed_works gauge\nseal_sealed_works {}",
        state.seals.len()
    );
    let image_state = state.monitor.read().unwrap_or_else(|p| p.into_inner()).image_snapshot_state();
    s.push_str(
        "# HELP seal_image_snapshot_state The image snapshot's check: 1 for the state it is in \
         (checking while the server already answers from it; damaged until the scheduler rebuilds).\n\
         # TYPE seal_image_snapshot_state gauge\n",
    );
    for (label, on) in [
        ("verified", image_state == ImageSnapshotState::Verified),
        ("checking", image_state == ImageSnapshotState::Checking),
        ("damaged", matches!(image_state, ImageSnapshotState::Damaged(_))),
    ] {
        let _ = writeln!(s, "seal_image_snapshot_state{{state=\"{label}\"}} {}", u8::from(on));
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(s)
}
