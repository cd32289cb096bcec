//! A fitted K-Means or GMM as its `clustering` artifact stores it, read back to predict
//! new rows exactly as the fit predicted its own.

use std::path::Path;

use aeclust_artifact::kinds::{
    AssignedSplit, ClusteringInfo, CovarianceType, Features, Method, Precision,
};
use aeclust_artifact::{Artifact, Element, TensorFile, TensorWriter};
use linfa::Float;
use ndarray::{Array1, Array2, ArrayD, ArrayView2, IxDyn};

use crate::{ClusterError, GaussianMixture, KMeans, Result};

/// What a model says about each row: its cluster, the confidence of that assignment
/// (K-Means: the distance to the centroid; GMM: the posterior probability) and its
/// novelty score ([`aeclust_artifact::kinds::NoveltyScore`]: K-Means the distance,
/// GMM −ln p(x)).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    /// Cluster of every row.
    pub clusters: Vec<usize>,
    /// Confidence of every assignment.
    pub confidence: Vec<f32>,
    /// Novelty score of every row (higher: stranger).
    pub novelty: Vec<f32>,
    /// GMM: mean log-likelihood per row (NaN for no rows).
    pub mean_log_likelihood: Option<f64>,
}

impl Prediction {
    /// These predictions as a clustering artifact stores a split of them.
    pub fn assigned<'a>(&'a self, labels: Option<&'a [u8]>) -> AssignedSplit<'a> {
        AssignedSplit {
            clusters: &self.clusters,
            confidence: &self.confidence,
            novelty: &self.novelty,
            labels,
            leaves: None,
        }
    }
}

/// A fitted model of one precision.
pub(crate) enum Model<F: Float> {
    KMeans(KMeans<F>),
    Gmm(Box<GaussianMixture<F>>),
}

impl<F: Float> Model<F> {
    /// Number of clusters.
    pub(crate) fn k(&self) -> usize {
        match self {
            Model::KMeans(m) => m.centroids().nrows(),
            Model::Gmm(m) => m.means().nrows(),
        }
    }

    /// Cluster, confidence and novelty of every row of `x` (the kept columns).
    pub(crate) fn predict(&self, x: ArrayView2<F>) -> Prediction {
        let f32s =
            |v: &[F]| -> Vec<f32> { v.iter().map(|x| x.to_f32().unwrap_or(f32::NAN)).collect() };
        match self {
            Model::KMeans(m) => {
                let (clusters, d2) = m.assign(x);
                let distance: Vec<f32> = f32s(&d2).into_iter().map(f32::sqrt).collect();
                Prediction {
                    clusters,
                    novelty: distance.clone(),
                    confidence: distance,
                    mean_log_likelihood: None,
                }
            }
            Model::Gmm(m) => {
                let (ll, clusters, confidence) = m.log_likelihood_predict_confidence(x);
                let mean = ll.iter().sum::<f64>() / ll.len() as f64;
                Prediction {
                    clusters,
                    confidence: f32s(&confidence),
                    novelty: ll.iter().map(|&v| -v as f32).collect(),
                    mean_log_likelihood: Some(mean),
                }
            }
        }
    }

    /// Adds the model's tensors to `writer`, expanded from the kept columns `keep` to
    /// all `fill.len()` columns (dropped columns: their constant value `fill`, variance
    /// `reg_covar`).
    pub(crate) fn write(
        &self,
        writer: &mut TensorWriter,
        keep: &[usize],
        fill: &[f32],
        reg_covar: f64,
    ) where
        F: Element,
    {
        let (k, dim) = (self.k(), fill.len());
        match self {
            Model::KMeans(m) => {
                writer.add(
                    "centroids",
                    &[k, dim],
                    &expand_rows(m.centroids().view(), keep, fill),
                );
            }
            Model::Gmm(m) => {
                writer.add("weights", &[k], m.weights().as_slice().expect("contiguous"));
                writer.add(
                    "means",
                    &[k, dim],
                    &expand_rows(m.means().view(), keep, fill),
                );
                let covs = m.covariances();
                match m.covariance_type() {
                    CovarianceType::Full => {
                        let mut full = vec![F::zero(); k * dim * dim];
                        for c in 0..k {
                            let block = &mut full[c * dim * dim..(c + 1) * dim * dim];
                            for j in 0..dim {
                                block[j * dim + j] = F::cast(reg_covar); // dropped columns
                            }
                            for (a, &ja) in keep.iter().enumerate() {
                                for (b, &jb) in keep.iter().enumerate() {
                                    block[ja * dim + jb] = covs[[c, a, b]];
                                }
                            }
                        }
                        writer.add("covariances", &[k, dim, dim], &full);
                    }
                    CovarianceType::Diag => {
                        let covs = covs
                            .view()
                            .into_dimensionality::<ndarray::Ix2>()
                            .expect("diag covariances are [K, D]");
                        let fill_reg = vec![reg_covar as f32; dim];
                        writer.add(
                            "covariances",
                            &[k, dim],
                            &expand_rows(covs, keep, &fill_reg),
                        );
                    }
                }
            }
        }
        let keep_u32: Vec<u32> = keep.iter().map(|&j| j as u32).collect();
        writer.add("kept_dims", &[keep.len()], &keep_u32);
    }

    /// Reads a model written by [`Model::write`], restricted to its kept columns.
    fn read(file: &TensorFile, method: Method, keep: &[usize]) -> Result<Self>
    where
        F: Element,
    {
        let select_cols = |t: aeclust_artifact::Tensor<F>| -> Array2<F> {
            let (rows, dim) = (t.shape[0], t.shape[1]);
            Array2::from_shape_fn((rows, keep.len()), |(r, j)| t.data[r * dim + keep[j]])
        };
        Ok(match method {
            Method::Kmeans => Model::KMeans(KMeans::from_centroids(select_cols(
                file.read::<F>("centroids", Some(2))?,
            ))),
            Method::Gmm => {
                let weights = Array1::from(file.read::<F>("weights", Some(1))?.data);
                let means = select_cols(file.read::<F>("means", Some(2))?);
                let covs = file.read::<F>("covariances", None)?;
                let (k, dim) = (means.nrows(), covs.shape.get(1).copied().unwrap_or(0));
                let n = keep.len();
                let covariances = if covs.shape.len() == 3 {
                    ArrayD::from_shape_fn(IxDyn(&[k, n, n]), |i| {
                        covs.data[(i[0] * dim + keep[i[1]]) * dim + keep[i[2]]]
                    })
                } else {
                    ArrayD::from_shape_fn(IxDyn(&[k, n]), |i| covs.data[i[0] * dim + keep[i[1]]])
                };
                Model::Gmm(Box::new(GaussianMixture::from_parameters(
                    weights,
                    means,
                    covariances,
                )?))
            }
            Method::Scan | Method::Selflabel => {
                return Err(ClusterError::InvalidData(
                    "a SCAN clustering predicts through aeclust-cluster-scan's library".into(),
                ))
            }
        })
    }
}

/// Expands parameters fitted on the kept columns back to all `fill.len()` columns.
fn expand_rows<F: Float + Element>(m: ArrayView2<F>, keep: &[usize], fill: &[f32]) -> Vec<F> {
    let mut out = Vec::with_capacity(m.nrows() * fill.len());
    for row in m.outer_iter() {
        let mut full: Vec<F> = fill.iter().map(|&v| F::cast(v)).collect();
        for (&j, &v) in keep.iter().zip(row.iter()) {
            full[j] = v;
        }
        out.extend(full);
    }
    out
}

/// The kept columns `keep` of `f` as an array of `F`.
pub(crate) fn to_array<F: Float>(f: &Features, keep: &[usize]) -> Array2<F> {
    let n = f.len();
    let mut out = Array2::zeros((n, keep.len()));
    for (i, mut row) in out.outer_iter_mut().enumerate() {
        let src = &f.values[i * f.dim..(i + 1) * f.dim];
        for (o, &j) in row.iter_mut().zip(keep) {
            *o = F::cast(src[j]);
        }
    }
    out
}

enum Typed {
    F32(Model<f32>),
    F64(Model<f64>),
}

/// A K-Means or GMM clustering read back from its artifact.
pub struct Predictor {
    model: Typed,
    keep: Vec<usize>,
    dim: usize,
}

impl Predictor {
    /// Reads the model of the clustering artifact `clustering` (its model file verified
    /// against the manifest).
    pub fn open(clustering: &Artifact) -> Result<Self> {
        let info: ClusteringInfo = clustering.info()?;
        let path = clustering.verified_path(ClusteringInfo::MODEL_FILE)?;
        Self::read(&path, &info)
    }

    fn read(path: &Path, info: &ClusteringInfo) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let dim = info.features.dim;
        let keep: Vec<usize> = file
            .read::<u32>("kept_dims", Some(1))?
            .data
            .into_iter()
            .map(|j| j as usize)
            .collect();
        if keep.is_empty() || keep.iter().any(|&j| j >= dim) {
            return Err(ClusterError::InvalidData(format!(
                "{}: kept_dims do not fit the {dim} feature dimensions",
                path.display()
            )));
        }
        let method = info.params.method();
        let precision = info.params.method.precision().ok_or_else(|| {
            ClusterError::InvalidData(
                "a SCAN clustering predicts through aeclust-cluster-scan's library".into(),
            )
        })?;
        let model = match precision {
            Precision::F32 => Typed::F32(Model::read(&file, method, &keep)?),
            Precision::F64 => Typed::F64(Model::read(&file, method, &keep)?),
        };
        Ok(Self { model, keep, dim })
    }

    /// Number of clusters.
    pub fn k(&self) -> usize {
        match &self.model {
            Typed::F32(m) => m.k(),
            Typed::F64(m) => m.k(),
        }
    }

    /// Cluster, confidence and novelty score of every row of `features` (the columns of
    /// the features the model was fitted on).
    pub fn predict(&self, features: &Features) -> Result<Prediction> {
        if features.dim != self.dim {
            return Err(ClusterError::InvalidData(format!(
                "{} feature dimensions, but the clustering was fitted on {}",
                features.dim, self.dim
            )));
        }
        Ok(match &self.model {
            Typed::F32(m) => m.predict(to_array::<f32>(features, &self.keep).view()),
            Typed::F64(m) => m.predict(to_array::<f64>(features, &self.keep).view()),
        })
    }
}
