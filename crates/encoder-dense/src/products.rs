//! The matrix products of a training step, and how they share the cores.
//!
//! With candle's gemm crate (the default build) a product is cut into blocks of its
//! output's rows, and products that do not depend on each other (a layer's weight
//! gradient and its input's gradient) run side by side, every block single-threaded on
//! a rayon worker: one join per product or pair instead of the gemm's own
//! synchronisation inside each product (+7 % training speed here). OpenBLAS's own
//! threads do better with its kernels than such blocks (−3 %: each block packs the shared
//! operand again), so with the `openblas` feature each product is one call on all
//! threads, one after the other. [`run_here`] runs products on the calling thread alone,
//! for the training step's shards (`backprop`), which share the threads among themselves.

#[cfg(not(feature = "openblas"))]
use rayon::prelude::*;

/// One product `c = op(a)·op(b)` of row-major matrices: `op(a)` m×k (`a` stored k×m when
/// `trans_a`), `op(b)` k×n (`b` stored n×k when `trans_b`), `c` m×n.
#[derive(Debug)]
pub struct Product<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: &'a [f32],
    trans_a: bool,
    b: &'a [f32],
    trans_b: bool,
    c: &'a mut [f32],
}

impl<'a> Product<'a> {
    /// The product of the given shapes.
    ///
    /// # Panics
    /// When a slice is shorter than its shape says.
    pub fn new(
        (m, n, k): (usize, usize, usize),
        (a, trans_a): (&'a [f32], bool),
        (b, trans_b): (&'a [f32], bool),
        c: &'a mut [f32],
    ) -> Self {
        assert!(
            a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
            "product: slices shorter than {m}x{k} · {k}x{n}"
        );
        Self {
            m,
            n,
            k,
            a,
            trans_a,
            b,
            trans_b,
            c: &mut c[..m * n],
        }
    }

    /// The product's rows cut into `pieces` blocks, each a product of its own.
    #[cfg(not(feature = "openblas"))]
    fn blocks(self, pieces: usize) -> Vec<Block<'a>> {
        let Product {
            m,
            n,
            k,
            a,
            trans_a,
            b,
            trans_b,
            c,
        } = self;
        if m == 0 || n == 0 {
            return Vec::new();
        }
        let rows = m.div_ceil(pieces.max(1));
        c.chunks_mut(rows * n)
            .enumerate()
            .map(|(i, c)| {
                let r0 = i * rows;
                let mh = c.len() / n;
                // Rows r0.. of op(a): a row block of `a`, or a column block of the stored aᵀ.
                let (a, lda) = if trans_a {
                    (&a[r0..], m)
                } else {
                    (&a[r0 * k..(r0 + mh) * k], k)
                };
                Block {
                    mnk: (mh, n, k),
                    a: (a, lda, trans_a),
                    b: (b, if trans_b { k } else { n }, trans_b),
                    c,
                }
            })
            .collect()
    }
}

/// A block of a product: `c` (mh×n, contiguous) = op(a)·op(b) with leading dimensions.
#[cfg(not(feature = "openblas"))]
struct Block<'a> {
    mnk: (usize, usize, usize),
    a: (&'a [f32], usize, bool),
    b: (&'a [f32], usize, bool),
    c: &'a mut [f32],
}

#[cfg(not(feature = "openblas"))]
impl Block<'_> {
    fn run(self) {
        let (m, n, k) = self.mnk;
        if k == 0 {
            self.c.fill(0.0);
            return;
        }
        // SAFETY: `Product::new` checked the full operands; a block addresses op(a)'s rows
        // r0..r0+mh inside its sub-slice (a row block, or from column r0 of the stored aᵀ
        // with the full leading dimension: at most (k−1)·m + mh ≤ k·m − r0 values), all
        // of `b`, and its own rows of `c`, a unique borrow.
        unsafe { serial((m, n, k), self.a, self.b, self.c) }
    }
}

/// Runs the products (independent of each other) on all of rayon's workers: with the gemm
/// crate, each cut into row blocks so that all of them together give every worker a
/// share, the blocks single-threaded in parallel.
#[cfg(not(feature = "openblas"))]
pub fn run(products: Vec<Product<'_>>) {
    let threads = rayon::current_num_threads().max(1);
    let pieces = threads.div_ceil(products.len().max(1));
    let mut blocks: Vec<Block<'_>> = products
        .into_iter()
        .flat_map(|p| p.blocks(pieces))
        .collect();
    if blocks.len() == 1 {
        blocks.pop().expect("one block").run();
    } else {
        blocks.into_par_iter().for_each(Block::run);
    }
}

/// Runs the products (independent of each other) on all of rayon's workers: through
/// OpenBLAS, one multi-threaded call per product.
#[cfg(feature = "openblas")]
pub fn run(products: Vec<Product<'_>>) {
    crate::blas::use_threads(rayon::current_num_threads());
    one_by_one(products);
}

/// Runs the products one after the other on the calling thread alone (OpenBLAS told to
/// use one thread), for callers that share the work among threads themselves.
pub fn run_here(products: Vec<Product<'_>>) {
    #[cfg(feature = "openblas")]
    crate::blas::use_threads(1);
    one_by_one(products);
}

/// One call per product: through OpenBLAS (on its current thread count), or the gemm
/// crate on the calling thread.
fn one_by_one(products: Vec<Product<'_>>) {
    for p in products {
        if p.m == 0 || p.n == 0 {
            continue;
        }
        if p.k == 0 {
            p.c.fill(0.0);
            continue;
        }
        let lda = if p.trans_a { p.m } else { p.k };
        let ldb = if p.trans_b { p.k } else { p.n };
        let shape = (p.m, p.n, p.k);
        // SAFETY: `Product::new` checked that the operands hold m×k and k×n values and
        // `c` m×n; with these leading dimensions the call addresses exactly those.
        unsafe {
            #[cfg(feature = "openblas")]
            crate::blas::sgemm(shape, (p.a, lda, p.trans_a), (p.b, ldb, p.trans_b), p.c);
            #[cfg(not(feature = "openblas"))]
            serial(shape, (p.a, lda, p.trans_a), (p.b, ldb, p.trans_b), p.c);
        }
    }
}

/// `c = op(a)·op(b)` (see [`Product`]) on all of rayon's workers.
///
/// # Panics
/// When a slice is shorter than its shape says.
pub fn matmul(
    mnk: (usize, usize, usize),
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    c: &mut [f32],
) {
    run(vec![Product::new(mnk, (a, trans_a), (b, trans_b), c)]);
}

/// `c` (m×n, contiguous) = op(a)·op(b) on the calling thread, through the gemm crate.
///
/// # Safety
/// `a` and `b` hold every value their leading dimensions address for these shapes.
#[cfg(not(feature = "openblas"))]
unsafe fn serial(
    (m, n, k): (usize, usize, usize),
    (a, lda, trans_a): (&[f32], usize, bool),
    (b, ldb, trans_b): (&[f32], usize, bool),
    c: &mut [f32],
) {
    // (row stride, column stride) of op(a) and op(b).
    let (a_rs, a_cs) = if trans_a { (1, lda) } else { (lda, 1) };
    let (b_rs, b_cs) = if trans_b { (1, ldb) } else { (ldb, 1) };
    // SAFETY: the caller's contract; `c` holds m×n values and is a unique borrow.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        (m, n, k): (usize, usize, usize),
        a: &[f32],
        ta: bool,
        b: &[f32],
        tb: bool,
    ) -> Vec<f32> {
        let at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
        let bt = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
            }
        }
        c
    }

    /// Every transpose combination, odd sizes that leave a short last block, two
    /// products at once, and a product of k = 0, against a naive triple loop, on one
    /// worker and on three.
    #[test]
    fn blocks_add_up_to_the_product() {
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 7 + seed * 13) % 17) as f32 / 8.0 - 1.0)
                .collect()
        };
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    let (m, n, k) = (13, 5, 7);
                    let (a, b) = (values(m * k, 1), values(k * n, 2));
                    let (a2, b2) = (values(m * k, 3), values(k * n, 4));
                    let mut c = vec![f32::NAN; m * n];
                    let mut c2 = vec![f32::NAN; m * n];
                    run(vec![
                        Product::new((m, n, k), (&a, ta), (&b, tb), &mut c),
                        Product::new((m, n, k), (&a2, ta), (&b2, tb), &mut c2),
                    ]);
                    for (got, want) in [(c, naive((m, n, k), &a, ta, &b, tb)), {
                        (c2, naive((m, n, k), &a2, ta, &b2, tb))
                    }] {
                        for (x, y) in got.iter().zip(&want) {
                            assert!((x - y).abs() < 1e-4, "{ta} {tb}: {got:?} vs {want:?}");
                        }
                    }
                }
                let mut c = vec![f32::NAN; 6];
                matmul((2, 3, 0), &[], false, &[], false, &mut c);
                assert_eq!(c, vec![0.0; 6]);
            });
        }
    }

    #[test]
    #[should_panic(expected = "slices shorter than 2x3 · 3x2")]
    fn refuses_short_slices() {
        let mut c = vec![0.0; 4];
        matmul((2, 2, 3), &[0.0; 5], false, &[0.0; 6], false, &mut c);
    }
}
