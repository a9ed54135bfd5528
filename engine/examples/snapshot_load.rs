//! Times loading an image matcher snapshot the way the monitor does: the file mapped (tantivy's
//! `MmapDirectory`) and read in place by `ImageMatcher::from_shared`, several times, so that `perf`
//! can be pointed at startup alone.
//!
//! Run: `cargo run --release -p seal-engine --example snapshot_load -- FILE [SKIP] [TIMES] [deferred]`,
//! where `SKIP` is the bytes before the engine's (32 for a monitor's `image.snap`, 0 for the scale
//! bench's cache files) and `TIMES` the loads (default 3). With `deferred` the load is
//! `ImageMatcher::from_shared_deferred`, as the monitor opens it, and the check it leaves is timed
//! after it, apart. The matcher uses `ImageConfig::default()`, which is what the bench and the monitor
//! fingerprint with. To time a load from a cold disk, drop the page cache first (as root:
//! `sync; echo 3 > /proc/sys/vm/drop_caches`).

use seal_engine::image::{ImageConfig, ImageMatcher};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tantivy::directory::{Directory, MmapDirectory};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: snapshot_load FILE [SKIP] [TIMES]")?;
    let skip: usize = args.next().map_or(Ok(0), |a| a.parse())?;
    let times: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let deferred = match args.next().as_deref() {
        None => false,
        Some("deferred") => true,
        Some(other) => return Err(format!("unknown mode {other:?}: the only one is `deferred`").into()),
    };
    let path = Path::new(&file);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or("not a file")?;
    for _ in 0..times {
        let started = Instant::now();
        let handle = MmapDirectory::open(dir)?.get_file_handle(Path::new(name))?;
        let bytes = handle.read_bytes(skip..handle.len())?;
        let (matcher, check) = if deferred {
            let (matcher, check) = ImageMatcher::from_shared_deferred(Arc::new(bytes), ImageConfig::default())?;
            (matcher, Some(check))
        } else {
            (ImageMatcher::from_shared(Arc::new(bytes), ImageConfig::default())?, None)
        };
        let loaded = started.elapsed();
        if let Some(check) = check {
            let checking = Instant::now();
            check.run()?;
            println!("deferred check passed: {:.3} s after the load", checking.elapsed().as_secs_f64());
        }
        let (whole, region) = matcher.heap_bytes();
        println!(
            "{} works, {} windows: loaded in {:.3} s; heap {:.0} + {:.0} B/work, mapped {:.0} B/work",
            matcher.len(),
            matcher.region_count(),
            loaded.as_secs_f64(),
            whole as f64 / matcher.len().max(1) as f64,
            region as f64 / matcher.len().max(1) as f64,
            matcher.mapped_bytes() as f64 / matcher.len().max(1) as f64,
        );
    }
    Ok(())
}
