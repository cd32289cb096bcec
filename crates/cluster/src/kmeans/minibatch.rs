//! Mini-batch K-Means (Sculley, "Web-scale k-means clustering", 2010): centres started by
//! a full K-Means (k-means++, restarts) on the first batch, then moved by every later
//! batch one row at a time, each centre with a learning rate of 1 / (rows it has taken):
//! one pass over rows that need never be in memory together (batches read shard by
//! shard), and a model that predicts as K-Means does.

use linfa::traits::Fit;
use linfa::{DatasetBase, Float};
use ndarray::{Array2, ArrayView2};

use super::KMeans;
use crate::{ClusterError, Result};

/// Centres and how many rows each has taken, updated batch by batch.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchKMeans<F> {
    centroids: Array2<F>,
    counts: Vec<u64>,
    batches: usize,
}

impl<F: Float> MiniBatchKMeans<F> {
    /// Starts from a full K-Means of `first` (at least `k` rows) with `n_init` restarts
    /// drawn from `seed`; `first` counts as the first batch.
    pub fn start(first: ArrayView2<F>, k: usize, n_init: usize, seed: u64) -> Result<Self> {
        if first.nrows() < k {
            return Err(ClusterError::InvalidParams(format!(
                "the first batch has {} rows, fewer than the {k} clusters",
                first.nrows()
            )));
        }
        let model = KMeans::<F>::params(k)
            .n_init(n_init)
            .seed(seed)
            .fit(&DatasetBase::from(first.to_owned()))?;
        let (clusters, _) = model.assign(first);
        let mut counts = vec![0u64; k];
        clusters.iter().for_each(|&c| counts[c] += 1);
        Ok(Self {
            centroids: model.centroids().clone(),
            counts,
            batches: 1,
        })
    }

    /// Moves the centres by every row of `batch` (each row to its nearest centre, which
    /// steps towards it by 1 / its count), after assigning the whole batch to the centres
    /// as they were (Sculley's order).
    pub fn partial_fit(&mut self, batch: ArrayView2<F>) -> Result<()> {
        if batch.ncols() != self.centroids.ncols() {
            return Err(ClusterError::InvalidData(format!(
                "a batch of {} columns for centres of {}",
                batch.ncols(),
                self.centroids.ncols()
            )));
        }
        let (clusters, _) = KMeans::from_centroids(self.centroids.clone()).assign(batch);
        for (row, &c) in batch.outer_iter().zip(&clusters) {
            self.counts[c] += 1;
            let eta = F::one() / F::cast(self.counts[c]);
            let mut centre = self.centroids.row_mut(c);
            for (m, &x) in centre.iter_mut().zip(row) {
                *m = *m + eta * (x - *m);
            }
        }
        self.batches += 1;
        Ok(())
    }

    /// The centres.
    pub fn centroids(&self) -> &Array2<F> {
        &self.centroids
    }

    /// Rows each centre has taken.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Batches seen, the first included.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// A K-Means model of these centres, to assign and predict with.
    pub fn model(&self) -> KMeans<F> {
        KMeans::from_centroids(self.centroids.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// `n` rows around three centres far apart, from `seed`.
    fn blobs(n: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut x = Array2::zeros((n, 2));
        let mut truth = Vec::with_capacity(n);
        for i in 0..n {
            let g = rng.gen_range(0..3);
            truth.push(g);
            for d in 0..2 {
                x[[i, d]] = centres[g][d] + rng.gen_range(-1.0..1.0);
            }
        }
        (x, truth)
    }

    #[test]
    fn batches_move_the_centres_to_the_means_and_find_the_groups() {
        let (first, _) = blobs(300, 1);
        let mut mb = MiniBatchKMeans::start(first.view(), 3, 3, 7).unwrap();
        for seed in 2..12 {
            mb.partial_fit(blobs(1000, seed).0.view()).unwrap();
        }
        assert_eq!(mb.batches(), 11);
        assert_eq!(mb.counts().iter().sum::<u64>(), 300 + 10 * 1000);
        // Every true centre has a centroid within 0.1 (noise ±1 over ~3,400 rows each).
        for centre in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]] {
            let nearest = mb
                .centroids()
                .outer_iter()
                .map(|c| ((c[0] - centre[0]).powi(2) + (c[1] - centre[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 0.1, "{centre:?}: {nearest}");
        }
        // New rows are assigned to their own group.
        let (x, truth) = blobs(500, 99);
        let (clusters, _) = mb.model().assign(x.view());
        let mut map = [usize::MAX; 3];
        for (&c, &t) in clusters.iter().zip(&truth) {
            if map[t] == usize::MAX {
                map[t] = c;
            }
            assert_eq!(map[t], c);
        }
        // Bad batches are refused.
        assert!(mb.partial_fit(Array2::<f64>::zeros((4, 3)).view()).is_err());
        assert!(MiniBatchKMeans::start(first.slice(ndarray::s![..2, ..]), 3, 1, 1).is_err());
    }
}
