//! Process-wide settings that make candle fast on a CPU. Call [`configure`] at the very
//! start of `main`, before any candle or rayon work.

/// Sets the thread counts candle reads lazily (`RAYON_NUM_THREADS` for its matmuls,
/// `CANDLE_NUM_THREADS=1` for its element-wise pool, which otherwise spins and collapses
/// when another process holds a core) and tunes glibc's allocator so that freed large
/// buffers are reused instead of being returned to the OS after every op.
pub fn configure(threads: Option<usize>) {
    let threads = threads
        .or_else(|| {
            std::env::var("RAYON_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Single-threaded at this point: nothing reads the environment concurrently.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    aeclust_artifact::cli::tune_allocator();
}

/// Number of worker threads in use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// The candle device named `cpu` or `cuda` (the latter needs the `cuda` feature).
pub fn device(name: &str) -> crate::Result<candle_core::Device> {
    match name {
        "cpu" => Ok(candle_core::Device::Cpu),
        "cuda" if candle_core::utils::cuda_is_available() => Ok(candle_core::Device::new_cuda(0)?),
        "cuda" => Err(crate::EncoderError::InvalidParams(
            "--device cuda: this build has no CUDA support; rebuild with `--features cuda`".into(),
        )),
        other => Err(crate::EncoderError::InvalidParams(format!(
            "--device {other}: expected cpu or cuda"
        ))),
    }
}

/// The command-line settings every candle binary shares (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct RuntimeArgs {
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl RuntimeArgs {
    /// [`configure`] with these threads; call first thing in `main`.
    pub fn configure(&self) {
        configure(self.threads);
    }

    /// The selected device.
    pub fn device(&self) -> crate::Result<candle_core::Device> {
        device(&self.device)
    }
}
