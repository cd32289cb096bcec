//! What every stage binary shares at its edge.

use std::path::Path;
use std::process::ExitCode;

use crate::Outcome;

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

/// Tunes glibc's allocator for numeric work on large buffers: freed blocks are kept and
/// reused instead of being unmapped and faulted in again on the next allocation (which
/// otherwise costs up to half the run time of candle training and the GMM's EM).
/// Call once at the start of `main`, before other threads exist.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}
