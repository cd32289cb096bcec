//! What every stage binary shares at its edge.

use std::process::ExitCode;

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
