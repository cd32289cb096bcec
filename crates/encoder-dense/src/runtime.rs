//! The device choice and the command-line settings of the candle binaries; the process
//! set-up (allocator, threads) is `aeclust_cli::run`, first thing in `main`.

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
    /// The selected device.
    pub fn device(&self) -> crate::Result<candle_core::Device> {
        device(&self.device)
    }
}
