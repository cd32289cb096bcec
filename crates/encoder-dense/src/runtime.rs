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

/// Flush-to-zero and denormals-are-zero on every thread of rayon's current pool and the
/// calling thread while it lives; the previous modes come back when it drops.
///
/// Subnormal floats (below 1.2e−38) are ~100x slower on x86; in training they appear
/// after a few epochs (gradients and moments of barely active units) and cost up to a
/// fifth of the speed. XLA and TensorFlow train in this mode too. It changes results
/// only where a value would be subnormal, which becomes 0. A no-op off x86-64.
#[derive(Debug)]
#[must_use = "the mode ends when the guard drops"]
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    previous: Vec<(Option<usize>, u32)>,
}

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    /// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    pub const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    pub fn read() -> u32 {
        let mut value = 0u32;
        // SAFETY: stores the SSE control register into a local.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut value as *mut u32, options(nostack, preserves_flags));
        }
        value
    }

    pub fn write(value: u32) {
        // SAFETY: loads a value read from the register with only the FTZ and DAZ bits
        // changed: no exception is unmasked, the rounding mode stays.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &value as *const u32, options(nostack, preserves_flags, readonly));
        }
    }
}

impl FlushDenormals {
    /// Sets the mode on rayon's workers and this thread.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let set = || {
                let before = mxcsr::read();
                mxcsr::write(before | mxcsr::FTZ_DAZ);
                before
            };
            let mut previous: Vec<(Option<usize>, u32)> =
                rayon::broadcast(|ctx| (Some(ctx.index()), set()));
            if rayon::current_thread_index().is_none() {
                // The calling thread, unless it is one of the workers just set.
                previous.push((None, set()));
            }
            Self { previous }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {}
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        {
            let previous = &self.previous;
            let restore = |worker: Option<usize>| {
                if let Some(&(_, value)) = previous.iter().find(|(w, _)| *w == worker) {
                    mxcsr::write(value);
                }
            };
            rayon::broadcast(|ctx| restore(Some(ctx.index())));
            restore(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ≈ 1.5e−39, a subnormal float.
    const TINY: f32 = f32::from_bits(1 << 20);

    /// The bits of `TINY · 1` on this thread. (Bits: with DAZ a subnormal equals 0.)
    fn product_bits() -> u32 {
        (std::hint::black_box(TINY) * std::hint::black_box(1.0f32)).to_bits()
    }

    /// On every worker of the current pool and this thread: `TINY · 1` is `TINY` before,
    /// 0 while a guard lives, `TINY` again after it.
    fn check() {
        let everywhere = || {
            let mut all = rayon::broadcast(|_| product_bits());
            all.push(product_bits());
            all
        };
        assert!(everywhere().iter().all(|&b| b == TINY.to_bits()));
        let guard = FlushDenormals::new();
        if cfg!(target_arch = "x86_64") {
            assert!(everywhere().iter().all(|&b| b == 0), "{:?}", everywhere());
        }
        drop(guard);
        assert!(everywhere().iter().all(|&b| b == TINY.to_bits()));
    }

    /// A guard made on a worker of the pool, and one made on a thread outside it.
    #[test]
    fn flushes_subnormals_while_it_lives() {
        let pool = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap()
        };
        pool().install(check);
        let outside = pool();
        std::thread::spawn(move || outside.in_place_scope(|_| check()))
            .join()
            .unwrap();
    }
}
