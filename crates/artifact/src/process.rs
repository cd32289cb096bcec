//! What the cache and the staging directories need to know about processes: the code
//! fingerprint of the running program, whether a process is alive, and an exclusive
//! lock per output directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{ArtifactError, Result};

/// SHA-256 of the running executable, computed once per process: a rebuilt binary with
/// changed code has another fingerprint, so its stage (and everything downstream) reruns.
/// When the executable cannot be read, the fingerprint is `unknown:<tool version>`.
pub fn code_fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| crate::sha256_file(&exe).ok())
            .unwrap_or_else(|| format!("unknown:{}", env!("CARGO_PKG_VERSION")))
    })
}

/// Name of the running program (`aeclust-cluster`), as recorded in manifests.
pub fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "aeclust".into())
}

/// True unless the process `pid` is known to be gone.
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 sends nothing; it only checks that the process
        // exists and may be signalled. It has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// An exclusive lock on one output directory, held for a whole stage run (released on
/// drop, and by the kernel when the process dies). Two runs into the same output take
/// turns: the second waits, then finds the first one's artifact in its cache.
#[derive(Debug)]
pub(crate) struct OutputLock {
    _file: File,
}

impl OutputLock {
    /// The lock file's path for output directory `out`: `.NAME.lock` beside it.
    pub(crate) fn path_for(out: &Path) -> PathBuf {
        let (parent, base) = crate::stage::parent_and_base(out);
        parent.join(format!(".{base}.lock"))
    }

    /// Takes the lock, waiting for a concurrent run of the same output to finish.
    pub(crate) fn acquire(out: &Path) -> Result<Self> {
        let path = Self::path_for(out);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ArtifactError::io(parent, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ArtifactError::io(&path, e))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let fd = file.as_raw_fd();
            // SAFETY: `fd` is an open descriptor owned by `file`, alive for both calls.
            let rc = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                eprintln!(
                    "waiting for another run that is writing {} …",
                    out.display()
                );
                // SAFETY: as above.
                let rc = unsafe { libc::flock(fd, libc::LOCK_EX) };
                if rc != 0 {
                    return Err(ArtifactError::io(&path, std::io::Error::last_os_error()));
                }
            }
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness() {
        assert!(process_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid), "a reaped child is gone");
    }

    #[test]
    fn fingerprint_is_the_executable_hash() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(code_fingerprint(), crate::sha256_file(&exe).unwrap());
    }
}
