//! What every stage binary shares at its edge: process set-up ([`configure`]: threads
//! and allocator), the one-line result ([`announce`]), progress without a terminal
//! ([`TenthLines`]) and errors to exit codes ([`report`]). Libraries never call these;
//! binaries do, first and last thing.

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

/// Progress as plain lines when stderr is not a terminal (a log file, a workflow's job),
/// where an indicatif bar draws nothing: one line each time the work passes another
/// tenth, so a long stage still shows that it advances. Silent on a terminal.
#[derive(Debug)]
pub struct TenthLines {
    label: String,
    plain: bool,
    started: std::time::Instant,
    tenths: std::sync::atomic::AtomicU64,
}

impl TenthLines {
    /// Lines start with `label` (e.g. `encode`).
    pub fn new(label: &str) -> Self {
        use std::io::IsTerminal;
        Self::with_output(label, !std::io::stderr().is_terminal())
    }

    /// As [`TenthLines::new`], printing (`plain`) or not whatever stderr is.
    pub fn with_output(label: &str, plain: bool) -> Self {
        Self {
            label: label.to_owned(),
            plain,
            started: std::time::Instant::now(),
            tenths: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The line for `done` of `total` `unit` (and `extra`, if any), when it passes a
    /// tenth not yet reported; safe to call from several threads.
    pub fn line(&self, done: u64, total: u64, unit: &str, extra: &str) -> Option<String> {
        use std::sync::atomic::Ordering;
        if total == 0 {
            return None;
        }
        let tenth = (done.min(total) * 10 / total).max(u64::from(done > 0));
        let before = self.tenths.fetch_max(tenth, Ordering::Relaxed);
        (tenth > before).then(|| {
            format!(
                "  {}: {done}/{total} {unit}{extra}, {:.0} s",
                self.label,
                self.started.elapsed().as_secs_f64()
            )
        })
    }

    /// Prints [`TenthLines::line`] to stderr when stderr is not a terminal.
    pub fn update(&self, done: u64, total: u64, unit: &str, extra: &str) {
        if self.plain {
            if let Some(line) = self.line(done, total, unit, extra) {
                eprintln!("{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TenthLines;

    #[test]
    fn a_line_for_the_first_step_and_each_tenth_once() {
        let t = TenthLines::with_output("encode", true);
        let lines: Vec<String> = (0..=1000)
            .filter_map(|done| t.line(done, 1000, "images", ""))
            .collect();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert!(
            lines[0].starts_with("  encode: 1/1000 images, "),
            "{}",
            lines[0]
        );
        assert!(
            lines[9].starts_with("  encode: 1000/1000 images, "),
            "{}",
            lines[9]
        );
        // Out of order (threads) or repeated: never twice for one tenth.
        assert_eq!(t.line(500, 1000, "images", ""), None);
        assert_eq!(
            TenthLines::with_output("x", true).line(0, 0, "rows", ""),
            None
        );
    }
}
