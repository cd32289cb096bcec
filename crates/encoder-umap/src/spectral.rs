//! The spectral initial layout (umap-learn's default): the eigenvectors of the
//! normalised graph Laplacian `I − D^-½ W D^-½` with the smallest non-zero eigenvalues,
//! found as the largest of `(I + D^-½ W D^-½) / 2` by block power iteration with
//! Rayleigh–Ritz (the PCA crate's Jacobi solver), the trivial eigenvector `D^½·1` projected out.

use rayon::prelude::*;

use crate::fuzzy::Graph;

/// `c` coordinates per point (row-major `n × c`), or `None` when the iteration did not
/// settle (the caller falls back to another initialisation).
pub fn spectral_layout(
    graph: &Graph,
    n: usize,
    c: usize,
    max_iter: usize,
    seed: u64,
) -> Option<Vec<f32>> {
    if n <= c + 1 {
        return None;
    }
    // CSR rows of the symmetric graph (edges are sorted by head).
    let mut starts = vec![0usize; n + 1];
    for &h in &graph.heads {
        starts[h as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let degree: Vec<f64> = (0..n)
        .map(|i| {
            graph.weights[starts[i]..starts[i + 1]]
                .iter()
                .map(|&w| f64::from(w))
                .sum()
        })
        .collect();
    if degree.iter().any(|&d| d <= 0.0) {
        return None; // isolated points: the normalised Laplacian is undefined
    }
    let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
    let mut trivial: Vec<f64> = degree.iter().map(|d| d.sqrt()).collect();
    normalise(&mut trivial);
    let m = c + 4; // a few extra vectors speed up convergence
                   // Deterministic pseudo-random start, columns stored one after another.
    let mut state = seed ^ 0x2545_F491_4F6C_DD1D;
    let mut v: Vec<Vec<f64>> = (0..m)
        .map(|_| {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
                })
                .collect()
        })
        .collect();
    let apply = |x: &[f64]| -> Vec<f64> {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let mut s = 0.0;
                for e in starts[i]..starts[i + 1] {
                    let j = graph.tails[e] as usize;
                    s += f64::from(graph.weights[e]) * inv_sqrt[j] * x[j];
                }
                0.5 * (x[i] + inv_sqrt[i] * s)
            })
            .collect()
    };
    let mut previous: Vec<f64> = vec![0.0; m];
    for iter in 0..max_iter {
        for col in v.iter_mut() {
            *col = apply(col);
        }
        orthonormalise(&mut v, &trivial);
        if iter % 10 == 9 {
            // Rayleigh quotients of the current basis; stop once they settle.
            let q: Vec<f64> = v.iter().map(|x| dot(x, &apply(x))).collect();
            let settled = q
                .iter()
                .zip(&previous)
                .take(c)
                .all(|(a, b)| (a - b).abs() < 1e-7);
            previous = q;
            if settled {
                break;
            }
        }
    }
    // Rayleigh–Ritz: order the basis by its eigenvalues, largest first.
    let av: Vec<Vec<f64>> = v.iter().map(|x| apply(x)).collect();
    let small = ndarray::Array2::from_shape_fn((m, m), |(a, b)| dot(&v[a], &av[b]));
    let (_, vectors) = aeclust_pca::symmetric_eigen(small);
    let mut out = vec![0f32; n * c];
    for k in 0..c {
        for i in 0..n {
            let mut s = 0.0;
            for (a, col) in v.iter().enumerate() {
                s += vectors[[a, k]] * col[i];
            }
            out[i * c + k] = s as f32;
        }
    }
    out.iter().all(|x| x.is_finite()).then_some(out)
}

/// Rows per partial sum of [`dot`]: fixed, so the sum's rounding does not depend on
/// how the threads share the work.
const DOT_CHUNK: usize = 4096;

/// `a · b`, the same to the bit whatever the number of threads.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let partial: Vec<f64> = a
        .par_chunks(DOT_CHUNK)
        .zip(b.par_chunks(DOT_CHUNK))
        .map(|(x, y)| x.iter().zip(y).map(|(x, y)| x * y).sum::<f64>())
        .collect();
    partial.iter().sum()
}

fn normalise(x: &mut [f64]) {
    let norm = dot(x, x).sqrt().max(f64::MIN_POSITIVE);
    x.iter_mut().for_each(|v| *v /= norm);
}

/// Gram–Schmidt (twice) against `fixed` and the earlier columns.
fn orthonormalise(v: &mut [Vec<f64>], fixed: &[f64]) {
    for j in 0..v.len() {
        for _ in 0..2 {
            let p = dot(&v[j], fixed);
            v[j].iter_mut().zip(fixed).for_each(|(a, b)| *a -= p * b);
            for i in 0..j {
                let (head, tail) = v.split_at_mut(j);
                let p = dot(&tail[0], &head[i]);
                tail[0]
                    .iter_mut()
                    .zip(&head[i])
                    .for_each(|(a, b)| *a -= p * b);
            }
        }
        normalise(&mut v[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two cliques joined by one weak edge: the first non-trivial eigenvector (the
    /// Fiedler vector) separates them by sign.
    #[test]
    fn fiedler_vector_splits_two_cliques() {
        let mut edges = Vec::new();
        for block in 0..2u32 {
            for i in 0..10u32 {
                for j in 0..10u32 {
                    if i != j {
                        edges.push((block * 10 + i, block * 10 + j, 1.0f32));
                    }
                }
            }
        }
        edges.push((0, 10, 0.05));
        edges.push((10, 0, 0.05));
        edges.sort_by_key(|e| (e.0, e.1));
        let g = Graph {
            heads: edges.iter().map(|e| e.0).collect(),
            tails: edges.iter().map(|e| e.1).collect(),
            weights: edges.iter().map(|e| e.2).collect(),
        };
        let y = spectral_layout(&g, 20, 1, 2000, 1).unwrap();
        let first = y[0].signum();
        assert!(y[..10].iter().all(|v| v.signum() == first), "{y:?}");
        assert!(y[10..].iter().all(|v| v.signum() == -first), "{y:?}");
    }
}
