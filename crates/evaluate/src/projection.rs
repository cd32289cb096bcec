//! The first principal components of a feature matrix, for the 2-D scatter.

use rayon::prelude::*;

/// Projects the rows of `x` ([n, d], row-major) on its first two principal components
/// (subspace iteration on the centred data, seeded deterministically).
pub fn first_two_components(x: &[f32], n: usize, d: usize) -> Vec<(f64, f64)> {
    if n == 0 || d == 0 {
        return Vec::new();
    }
    let mut mean = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred: Vec<f64> = x
        .chunks_exact(d)
        .flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m))
        .collect();
    // Deterministic, non-degenerate start.
    let mut basis: Vec<Vec<f64>> = (0..2)
        .map(|c| {
            (0..d)
                .map(|j| ((j * 7 + c * 13) % 17) as f64 - 8.0 + 0.5)
                .collect()
        })
        .collect();
    orthonormalise(&mut basis);
    for _ in 0..60 {
        // basis ← Xᵀ X basis
        let scores: Vec<[f64; 2]> = centred
            .par_chunks_exact(d)
            .map(|row| [dot(row, &basis[0]), dot(row, &basis[1])])
            .collect();
        let next: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                centred
                    .par_chunks_exact(d)
                    .zip(&scores)
                    .fold(
                        || vec![0.0; d],
                        |mut acc, (row, s)| {
                            acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v * s[c]);
                            acc
                        },
                    )
                    .reduce(
                        || vec![0.0; d],
                        |mut a, b| {
                            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                            a
                        },
                    )
            })
            .collect();
        basis = next;
        orthonormalise(&mut basis);
    }
    centred
        .chunks_exact(d)
        .map(|row| (dot(row, &basis[0]), dot(row, &basis[1])))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn orthonormalise(basis: &mut [Vec<f64>]) {
    for i in 0..basis.len() {
        for j in 0..i {
            let p = dot(&basis[i], &basis[j]);
            let bj = basis[j].clone();
            basis[i].iter_mut().zip(&bj).for_each(|(a, b)| *a -= p * b);
        }
        let norm = dot(&basis[i], &basis[i]).sqrt().max(f64::MIN_POSITIVE);
        basis[i].iter_mut().for_each(|a| *a /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_dominant_directions() {
        // Points spread mostly along (1, 1, 0), then along (1, -1, 0), barely along z.
        let mut x = Vec::new();
        for i in 0..200 {
            let a = (i as f32 - 100.0) / 10.0;
            let b = ((i * 37 % 200) as f32 - 100.0) / 50.0;
            let c = ((i * 11 % 7) as f32 - 3.0) / 100.0;
            x.extend([a + b, a - b, c]);
        }
        let p = first_two_components(&x, 200, 3);
        let var = |f: &dyn Fn(&(f64, f64)) -> f64| {
            let m = p.iter().map(f).sum::<f64>() / 200.0;
            p.iter().map(|q| (f(q) - m).powi(2)).sum::<f64>() / 200.0
        };
        let (v1, v2) = (var(&|q| q.0), var(&|q| q.1));
        // Variances along (1,1)/√2 and (1,-1)/√2 of the construction.
        assert!(v1 > v2 && v2 > 0.1, "{v1} {v2}");
        assert!((v1 - 2.0 * 3333.25 / 100.0).abs() / v1 < 0.05, "{v1}");
    }
}
