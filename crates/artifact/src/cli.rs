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
