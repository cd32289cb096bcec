//! What every stage binary shares at its edge: process set-up ([`configure`]: threads
//! and allocator), the one-line result ([`announce`]) and errors to exit codes
//! ([`report`]). Libraries never call these; binaries do, first and last thing.

use std::path::Path;
use std::process::ExitCode;

use aeclust_artifact::Outcome;

/// Sets up a numeric stage process; call it first thing in `main`, before any other
/// thread exists:
/// 1. tunes glibc's allocator for large numeric buffers ([`tune_allocator`]);
/// 2. fixes the worker thread count (`threads`, else `RAYON_NUM_THREADS`, else all
///    cores), exports it as `RAYON_NUM_THREADS` for libraries that read it lazily
///    (candle's matmuls), and builds rayon's global pool with it;
/// 3. sets `CANDLE_NUM_THREADS=1` unless set: candle's element-wise thread pool spins
///    and collapses when another process holds a core.
///
/// Returns the thread count, or an error for `Some(0)`.
pub fn configure(threads: Option<usize>) -> Result<usize, String> {
    if threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    tune_allocator();
    let threads = threads
        .or_else(|| {
            std::env::var("RAYON_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
        })
        .filter(|&t| t >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Single-threaded at this point (the caller's contract): nothing reads the
    // environment concurrently.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    Ok(threads)
}

/// The whole `main` of a numeric stage binary: [`configure`] with `threads`, then `body`,
/// its error (or a refused thread count) reported by [`report`].
pub fn run<E: std::fmt::Display>(
    threads: Option<usize>,
    body: impl FnOnce() -> Result<(), E>,
) -> ExitCode {
    match configure(threads) {
        Ok(_) => report(body()),
        Err(e) => report::<String>(Err(e)),
    }
}

/// Tunes glibc's allocator for numeric work on large buffers: freed blocks are kept and
/// reused instead of being unmapped and faulted in again on the next allocation (which
/// otherwise costs up to half the run time of candle training and the GMM's EM).
/// [`configure`] calls it; call it directly only in a binary that needs no threads set.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes plain integers and only changes allocator parameters; it has
    // no memory-safety preconditions. `configure` calls it before any other thread
    // exists, so no allocation races with the change.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Prints the one-line result of a stage: `WHAT: reused OUT (HINT; --force rebuilds)` or
/// `WHAT: wrote OUT in S s`.
pub fn announce(what: &str, out: &Path, outcome: &Outcome, hint: &str) {
    if outcome.cached {
        println!(
            "{what}: reused {} ({hint}; --force rebuilds)",
            out.display()
        );
    } else {
        println!(
            "{what}: wrote {} in {:.2} s",
            out.display(),
            outcome.manifest.wall_seconds
        );
    }
}

/// Prints an error (with its chain, `{:#}`) as one `error:` line and turns the result
/// into the process exit code. Stage binaries end with `report(run(args))`.
pub fn report<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
