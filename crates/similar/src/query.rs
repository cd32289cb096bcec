//! The fitted images nearest to query images, the queries read and encoded as the codes
//! were (the codes artifact's chain replayed by `aeclust-replay`).

use std::path::Path;

use aeclust_artifact::kinds::CODES;
use aeclust_artifact::Artifact;
use aeclust_replay::{Chain, ReadPlan};

use crate::{Fitted, SimilarError};

/// One look-alike of a query image.
#[derive(Debug, Clone, PartialEq)]
pub struct LookAlike {
    /// The query image's path as given.
    pub query: String,
    /// 1 for the nearest.
    pub rank: usize,
    /// Row of the fitted image in the codes' train split.
    pub row: usize,
    /// Euclidean distance in the codes.
    pub distance: f32,
}

/// The `n` nearest fitted images (train split of the codes artifact `codes`, read as
/// `fitted`) of every image in the folder `queries`, nearest first.
pub fn look_alikes(
    codes: &Path,
    fitted: &Fitted,
    queries: &Path,
    n: usize,
    skip_bad: bool,
) -> Result<Vec<LookAlike>, SimilarError> {
    if n == 0 || n > fitted.codes.len() {
        return Err(SimilarError::Params(format!(
            "--n {n}: between 1 and the {} fitted images",
            fitted.codes.len()
        )));
    }
    let artifact = Artifact::open(codes, &[CODES])?;
    let chain = Chain::resolve(&artifact)?;
    let listing = aeclust_dataset::images::list(queries, true)?;
    let images = ReadPlan::of(&chain.dataset, &chain.dataset_info)?.read(
        &listing,
        skip_bad,
        false,
        &|| {},
    )?;
    let features = chain.apply(&images.split)?;
    let nn = aeclust_knn::nearest(
        &features.values,
        &fitted.codes.codes,
        fitted.codes.dim,
        n,
        &|_| {},
    );
    let mut out = Vec::with_capacity(images.len() * n);
    for (q, query) in images.files.iter().enumerate() {
        for (rank, (&row, &distance)) in nn.row(q).iter().zip(nn.row_distances(q)).enumerate() {
            out.push(LookAlike {
                query: query.clone(),
                rank: rank + 1,
                row: row as usize,
                distance,
            });
        }
    }
    Ok(out)
}
