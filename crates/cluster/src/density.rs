//! How many dense groups the features hold: HDBSCAN (the `hdbscan` crate, excess of mass,
//! Euclidean), with its smallest group a fraction of the rows, on the rows or a seeded
//! sample of them.

use std::time::Instant;

use aeclust_artifact::kinds::DensityCount;
use hdbscan::{Hdbscan, HdbscanHyperParams};
use linfa::Float;
use ndarray::ArrayView2;

use crate::quality::sample_rows;
use crate::{ClusterError, Result};

/// Rows HDBSCAN runs on at most: its spanning tree costs the square of the rows.
pub const DENSITY_SAMPLE: usize = 10_000;

/// The fewest rows a group may have, whatever the fraction.
const MIN_GROUP_ROWS: usize = 10;

/// Counts HDBSCAN's dense groups in `x`, each of at least `min_group` of the rows used
/// (and no fewer than 10), on at most `max_rows` rows drawn with `seed`. No more rows
/// than that smallest group: no group.
pub fn dense_groups<F: Float>(
    x: ArrayView2<F>,
    min_group: f64,
    max_rows: usize,
    seed: u64,
) -> Result<DensityCount> {
    if !(min_group > 0.0 && min_group < 1.0) {
        return Err(ClusterError::InvalidParams(format!(
            "the smallest dense group must be a fraction of the rows above 0 and below 1, \
             got {min_group}"
        )));
    }
    let started = Instant::now();
    let rows = sample_rows(x.nrows(), max_rows, seed);
    let data: Vec<Vec<f64>> = rows
        .iter()
        .map(|&r| {
            x.row(r)
                .iter()
                .map(|v| v.to_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    // The crate's k-d tree panics on a non-finite coordinate.
    if let Some(i) = data.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
        return Err(ClusterError::InvalidData(format!(
            "row {} has a value that is not a finite number",
            rows[i]
        )));
    }
    let min_cluster_size = ((min_group * data.len() as f64) as usize).max(MIN_GROUP_ROWS);
    if data.len() <= min_cluster_size {
        // Too few rows for one group and anything beside it: no dense group.
        return Ok(DensityCount {
            rows: data.len(),
            min_cluster_size,
            groups: 0,
            group_sizes: Vec::new(),
            noise_rows: data.len(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let params = HdbscanHyperParams::builder()
        .min_cluster_size(min_cluster_size)
        .min_samples(min_cluster_size)
        .build();
    let labels = Hdbscan::new(&data, params)
        .cluster()
        .map_err(|e| ClusterError::InvalidData(format!("HDBSCAN: {e}")))?;
    let groups = labels
        .iter()
        .filter(|&&l| l >= 0)
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let mut group_sizes = vec![0usize; groups];
    labels
        .iter()
        .filter(|&&l| l >= 0)
        .for_each(|&l| group_sizes[l as usize] += 1);
    group_sizes.sort_unstable_by(|a, b| b.cmp(a));
    Ok(DensityCount {
        rows: data.len(),
        min_cluster_size,
        groups,
        noise_rows: labels.iter().filter(|&&l| l < 0).count(),
        group_sizes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// `sizes[g]` points uniformly in a unit square around (10·g, 0), in 2-D.
    fn squares(sizes: &[usize], seed: u64) -> Array2<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let n = sizes.iter().sum();
        let mut x = Array2::zeros((n, 2));
        let mut i = 0;
        for (g, &s) in sizes.iter().enumerate() {
            for _ in 0..s {
                x[[i, 0]] = 10.0 * g as f64 + rng.gen::<f64>();
                x[[i, 1]] = rng.gen::<f64>();
                i += 1;
            }
        }
        x
    }

    #[test]
    fn groups_above_the_smallest_size_are_counted_and_smaller_ones_are_not() {
        // 3 groups of 300 and one of 12 (1.3 % of 912 rows).
        let x = squares(&[300, 300, 300, 12], 1);
        let at_2 = dense_groups(x.view(), 0.02, DENSITY_SAMPLE, 7).unwrap();
        assert_eq!(at_2.groups, 3, "{at_2:?}");
        assert_eq!(at_2.min_cluster_size, 18);
        assert_eq!(
            at_2.group_sizes.iter().sum::<usize>() + at_2.noise_rows,
            912
        );
        let at_1 = dense_groups(x.view(), 0.01, DENSITY_SAMPLE, 7).unwrap();
        assert_eq!(at_1.groups, 4, "{at_1:?}");
        assert_eq!(at_1.min_cluster_size, 10);
    }

    #[test]
    fn a_sample_is_seeded_and_impossible_settings_are_refused() {
        let x = squares(&[400, 400], 2);
        let a = dense_groups(x.view(), 0.02, 300, 5).unwrap();
        let b = dense_groups(x.view(), 0.02, 300, 5).unwrap();
        assert_eq!(a.rows, 300);
        assert_eq!((a.groups, &a.group_sizes), (b.groups, &b.group_sizes));
        assert_eq!(a.groups, 2);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(dense_groups(x.view(), bad, 300, 5).is_err(), "{bad}");
        }
        // Fewer rows than the smallest group: none found, not an error.
        let few = squares(&[4, 4], 3);
        let none = dense_groups(few.view(), 0.02, 300, 5).unwrap();
        assert_eq!((none.groups, none.noise_rows, none.rows), (0, 8, 8));
        let mut nan = x.clone();
        nan[[3, 1]] = f64::NAN;
        let e = dense_groups(nan.view(), 0.02, 10_000, 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 3 has a value that is not a finite"), "{e}");
    }
}
