//! The `a`, `b` parameters of UMAP's low-dimensional similarity `1 / (1 + a·d^(2b))`,
//! fitted (least squares, Levenberg–Marquardt) to the curve that is 1 up to `min_dist`
//! and decays as `exp(-(d - min_dist) / spread)` after it, on 300 points in
//! `[0, 3·spread]` — what umap-learn's `find_ab_params` does with scipy's `curve_fit`.

/// `(a, b)` for `spread` and `min_dist`.
pub fn find_ab_params(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * spread * i as f64 / 299.0).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let residuals = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let f = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (f - y) * (f - y)
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut cost = residuals(a, b);
    for _ in 0..500 {
        // Normal equations J^T J δ = -J^T r for the two parameters.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x == 0.0 {
                continue; // f = 1 there for every a, b: no gradient
            }
            let p = x.powf(2.0 * b);
            let den = 1.0 + a * p;
            let f = 1.0 / den;
            let r = f - y;
            let da = -p / (den * den);
            let db = -a * p * 2.0 * x.ln() / (den * den);
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let (m_aa, m_bb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
        let det = m_aa * m_bb - jab * jab;
        if det.abs() < 1e-300 {
            break;
        }
        let step_a = -(m_bb * ga - jab * gb) / det;
        let step_b = -(m_aa * gb - jab * ga) / det;
        let (na, nb) = (a + step_a, b + step_b);
        let new_cost = if na > 0.0 && nb > 0.0 {
            residuals(na, nb)
        } else {
            f64::INFINITY
        };
        if new_cost < cost {
            let converged = (cost - new_cost) < 1e-14 * cost.max(1e-300);
            a = na;
            b = nb;
            cost = new_cost;
            lambda = (lambda / 10.0).max(1e-12);
            if converged {
                break;
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e12 {
                break;
            }
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_umap_learn() {
        // umap-learn 0.5's find_ab_params (scipy curve_fit) values for its default
        // min_dist 0.1 and for 0.001.
        let (a, b) = find_ab_params(1.0, 0.001);
        assert!(
            (a - 1.929).abs() < 2e-3 && (b - 0.7915).abs() < 1e-3,
            "{a} {b}"
        );
        let (a, b) = find_ab_params(1.0, 0.1);
        assert!(
            (a - 1.577).abs() < 2e-3 && (b - 0.8951).abs() < 1e-3,
            "{a} {b}"
        );
    }
}
