//! Behaviour of K-Means and the GMM on synthetic and real data.

use aeclust_cluster::{ClusterError, CovarianceType, GaussianMixture, KMeans, KMeansInit};
use linfa::prelude::*;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `per` points around each centre with standard deviation `sd` (Box–Muller, seeded).
fn blobs(centres: &[Vec<f64>], per: usize, sd: f64, seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let d = centres[0].len();
    let mut x = Array2::zeros((centres.len() * per, d));
    let mut labels = Vec::new();
    for (c, centre) in centres.iter().enumerate() {
        for i in 0..per {
            for j in 0..d {
                let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                x[[c * per + i, j]] = centre[j] + sd * z;
            }
            labels.push(c);
        }
    }
    (x, labels)
}

/// True when `pred` equals `truth` up to a renaming of clusters.
fn same_partition(pred: &[usize], truth: &[usize]) -> bool {
    let mut map = std::collections::HashMap::new();
    let mut used = std::collections::HashSet::new();
    for (&p, &t) in pred.iter().zip(truth) {
        match map.get(&t) {
            Some(&q) if q != p => return false,
            Some(_) => {}
            None => {
                if !used.insert(p) {
                    return false;
                }
                map.insert(t, p);
            }
        }
    }
    true
}

fn four_blobs() -> (Array2<f64>, Vec<usize>) {
    let centres = vec![
        vec![0.0, 0.0, 0.0],
        vec![10.0, 0.0, 0.0],
        vec![0.0, 10.0, 0.0],
        vec![0.0, 0.0, 10.0],
    ];
    blobs(&centres, 50, 0.5, 3)
}

#[test]
fn kmeans_recovers_separated_blobs_in_f32_and_f64() {
    let (x, truth) = four_blobs();
    let model = KMeans::params(4)
        .seed(1)
        .fit(&DatasetBase::from(x.clone()))
        .unwrap();
    assert!(same_partition(
        model.predict(&x).as_slice().unwrap(),
        &truth
    ));
    assert!(model.converged() && model.n_iter() >= 1);
    let x32 = x.mapv(|v| v as f32);
    let model = KMeans::params(4)
        .seed(2)
        .n_init(3)
        .fit(&DatasetBase::from(x32.clone()))
        .unwrap();
    assert!(same_partition(
        model.predict(&x32).as_slice().unwrap(),
        &truth
    ));
    assert_eq!(model.inertia_per_run().len(), 3);
}

#[test]
fn gmm_recovers_separated_blobs_full_and_diag() {
    let (x, truth) = four_blobs();
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let model = GaussianMixture::params(4)
            .covariance_type(cov)
            .seed(5)
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        let pred = model.predict(&x);
        assert!(same_partition(pred.as_slice().unwrap(), &truth), "{cov}");
        let proba = model.predict_proba(x.view());
        for row in proba.axis_iter(Axis(0)) {
            assert!((row.sum() - 1.0).abs() < 1e-9);
        }
        assert!((model.weights().sum() - 1.0).abs() < 1e-9);
    }
}

#[test]
fn gmm_log_likelihood_never_decreases() {
    // Overlapping, anisotropic clusters so that EM takes many iterations.
    let centres = vec![
        vec![0.0, 0.0],
        vec![2.0, 1.0],
        vec![-1.0, 2.5],
        vec![1.5, -2.0],
    ];
    let (mut x, _) = blobs(&centres, 150, 1.0, 11);
    x.column_mut(1).mapv_inplace(|v| v * 3.0);
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let model = GaussianMixture::params(4)
            .covariance_type(cov)
            .tolerance(1e-10)
            .max_iter(300)
            .seed(9)
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        let h = model.log_likelihood_history();
        assert!(h.len() > 5, "{cov}: only {} iterations", h.len());
        for w in h.windows(2) {
            assert!(
                w[1] >= w[0] - 1e-10 * w[0].abs(),
                "{cov}: {} -> {}",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn bic_picks_the_true_number_of_components() {
    let centres = vec![vec![0.0, 0.0], vec![6.0, 0.0], vec![0.0, 6.0]];
    let (x, _) = blobs(&centres, 120, 1.0, 21);
    let bics: Vec<f64> = (1..=6)
        .map(|k| {
            GaussianMixture::params(k)
                .seed(4)
                .n_init(2)
                .fit(&DatasetBase::from(x.clone()))
                .unwrap()
                .bic(x.view())
        })
        .collect();
    let best = bics
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.partial_cmp(b.1).unwrap())
        .unwrap()
        .0
        + 1;
    assert_eq!(best, 3, "BIC per k: {bics:?}");
}

#[test]
fn kmeans_is_the_same_to_the_bit_on_any_number_of_threads() {
    // 12,000 rows: the passes' partial sums span several groups of blocks.
    let centres: Vec<Vec<f64>> = (0..6)
        .map(|c| (0..8).map(|j| if j == c { 6.0 } else { 0.0 }).collect())
        .collect();
    let (x, _) = blobs(&centres, 2000, 2.0, 5);
    let x = x.mapv(|v| v as f32);
    fn on<T: Send>(threads: usize, f: &(dyn Fn() -> T + Sync)) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    }
    let kmeans = || {
        let m = KMeans::params(6)
            .seed(3)
            .n_init(2)
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        (m.centroids().clone(), m.inertia(), m.n_iter())
    };
    let one = on(1, &kmeans);
    assert!(one.2 > 1, "more than one pass");
    assert_eq!(one, on(3, &kmeans));
    // The GMM's log-likelihood (its stopping test and BIC) likewise.
    let gmm = || {
        let m = GaussianMixture::params(6)
            .seed(3)
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
        (m.means().clone(), m.log_likelihood_history().to_vec())
    };
    assert_eq!(on(1, &gmm), on(3, &gmm));
}

/// The first 2,000 training images of the committed real-data subset, scaled to [0, 1].
fn real_subset() -> Array2<f64> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/fashion-mnist-subset"
    );
    let images = aeclust_dataset::read_idx_file(
        std::path::Path::new(&format!("{dir}/train-images-idx3-ubyte.gz")),
        3,
    )
    .unwrap();
    let n = images.dims[0];
    Array1::from(images.data)
        .mapv(|v| f64::from(v) / 255.0)
        .into_shape_with_order((n, 784))
        .unwrap()
}

#[test]
fn kmeans_inertia_matches_linfa_clustering_on_real_subset() {
    let x = real_subset();
    // The same start for both: ten samples spread through the data.
    let init = x.select(Axis(0), &(0..10).map(|i| i * 197).collect::<Vec<_>>());
    let ours = KMeans::params(10)
        .init(KMeansInit::Precomputed(init.clone()))
        .max_iter(300)
        .fit(&DatasetBase::from(x.clone()))
        .unwrap();
    let theirs =
        linfa_clustering::KMeans::params_with_rng(10, Xoshiro256PlusPlus::seed_from_u64(0))
            .init_method(linfa_clustering::KMeansInit::Precomputed(init))
            .n_runs(1)
            .max_n_iterations(300)
            .tolerance(1e-4)
            .fit(&DatasetBase::from(x.clone()))
            .unwrap();
    // linfa-clustering reports the mean squared distance; ours is the sum (scikit-learn's).
    let ours_inertia = ours.inertia() / x.nrows() as f64;
    let theirs_inertia = theirs.inertia();
    let rel = (ours_inertia - theirs_inertia).abs() / theirs_inertia;
    assert!(
        rel < 0.01,
        "inertia ours {ours_inertia}, linfa-clustering {theirs_inertia} ({:.3} %)",
        rel * 100.0
    );
}

#[test]
fn impossible_parameters_and_data_are_errors() {
    let (x, _) = four_blobs();
    let ds = DatasetBase::from(x.clone());
    let err = KMeans::<f64>::params(0).fit(&ds).unwrap_err().to_string();
    assert!(err.contains("at least 1"), "{err}");
    let err = KMeans::<f64>::params(201).fit(&ds).unwrap_err().to_string();
    assert!(
        err.contains("201 clusters requested but there are only 200 samples"),
        "{err}"
    );
    let err = GaussianMixture::<f64>::params(0)
        .fit(&ds)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 1"), "{err}");
    let err = GaussianMixture::<f64>::params(2)
        .reg_covar(-1.0)
        .fit(&ds)
        .unwrap_err()
        .to_string();
    assert!(err.contains("reg_covar"), "{err}");
    let mut bad = x.clone();
    bad[[7, 1]] = f64::NAN;
    let err = KMeans::params(2)
        .fit(&DatasetBase::from(bad))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("non-finite value NaN at row 7, column 1"),
        "{err}"
    );
}

#[test]
fn singular_covariance_names_reg_covar() {
    // Three distinct points repeated: every component's covariance is singular in 3-D.
    let mut x = Array2::zeros((60, 3));
    for i in 0..60 {
        x[[i, 0]] = (i % 3) as f64;
        x[[i, 1]] = (i % 3) as f64 * 2.0;
    }
    let err = GaussianMixture::params(2)
        .reg_covar(0.0)
        .fit(&DatasetBase::from(x))
        .unwrap_err();
    assert!(matches!(err, ClusterError::SingularCovariance { .. }));
    assert!(err.to_string().contains("--reg-covar"), "{err}");
}
