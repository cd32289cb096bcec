//! The UMAP encoder stage: fit on the train split of a codes (or dataset) artifact and
//! embed both splits; or place the splits of another artifact with an earlier fit.

use std::path::Path;

use aeclust_artifact::kinds::{
    CodesInfo, CodesSplit, FeatureKind, Features, PerSplit, Provenance, Split, CODES,
};
use aeclust_artifact::{
    Artifact, ArtifactRef, Environment, Outcome, Stage, TensorFile, TensorWriter,
};
use serde::{Deserialize, Serialize};

use crate::umap::{fit, FittedUmap, Init, PhaseSeconds, Progress, UmapParams};
use crate::{Result, UmapError};

/// The fitted model inside a UMAP codes artifact: `inputs` [N, D] and `embedding`
/// [N, C] (f32), what a later `--transform` run needs.
pub const MODEL_FILE: &str = "umap.safetensors";

/// What the model was fitted on; a transform takes only inputs of the same kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedOn {
    /// Pixels or codes.
    pub kind: FeatureKind,
    /// The encoder of the codes (none for pixels).
    pub encoder: Option<String>,
    /// Cache key of the model that made the codes, if any: codes of another model live
    /// in another space.
    pub model_key: Option<String>,
    /// Input dimensions.
    pub dim: usize,
}

/// The UMAP encoder's own facts in a codes artifact (`info.details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UmapDetails {
    /// The settings of the fit.
    pub umap: UmapParams,
    /// The initial layout the fit used.
    pub init_used: Init,
    /// Curve parameters used.
    pub a: f32,
    /// Curve parameters used.
    pub b: f32,
    /// What the fit saw.
    pub fitted_on: FittedOn,
    /// Train points of the fit.
    pub n_fitted: usize,
    /// Seconds per phase of the fit (none when this artifact reused an earlier fit).
    pub fit_seconds: Option<PhaseSeconds>,
    /// Seconds per phase of placing the splits that were not fitted.
    pub transform_seconds: PhaseSeconds,
    /// The fitted artifact, when this one only transformed.
    pub fitted_model: Option<ArtifactRef>,
    /// Worker threads.
    pub threads: usize,
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    encoder: &'static str,
    umap: &'a UmapParams,
    /// The fitted model's cache key for a transform run.
    transform_with: Option<&'a str>,
}

/// Where the source's rows come from, and what the fit saw, for the output.
struct SourceFacts {
    provenance: Provenance,
    fitted_on: FittedOn,
}

impl SourceFacts {
    /// The info of the output: `c` dimensions, the two splits embedded, and the details.
    fn codes_info(
        self,
        c: usize,
        splits: &PerSplit<Features>,
        details: UmapDetails,
    ) -> CodesInfo<UmapDetails> {
        let name = self.provenance.encoder_name("umap", "umap of pixels");
        let counts = PerSplit {
            train: splits.train.len(),
            test: splits.test.len(),
        };
        self.provenance.codes_info(name, c, counts, details)
    }
}

fn source_facts(source: &Artifact, dim: usize, out: &Path) -> Result<SourceFacts> {
    let provenance = Provenance::of(source, out)?;
    let fitted_on = FittedOn {
        kind: match provenance.source_encoder {
            Some(_) => FeatureKind::Codes,
            None => FeatureKind::Pixels,
        },
        encoder: provenance.source_encoder.clone(),
        model_key: provenance.model.as_ref().map(|m| m.cache_key.clone()),
        dim,
    };
    Ok(SourceFacts {
        provenance,
        fitted_on,
    })
}

fn write_split(
    staging: &aeclust_artifact::Staging,
    split: Split,
    codes: Vec<f32>,
    labels: &Option<Vec<u8>>,
    c: usize,
) -> Result<()> {
    CodesSplit {
        codes,
        labels: labels.clone(),
        dim: c,
    }
    .write(&staging.file(split.file_name()))?;
    Ok(())
}

/// Fits UMAP on the train split of `features`, embeds train (the fit) and test (placed by
/// the fitted model), and writes a codes artifact with the model to `out`.
pub fn run(
    params: &UmapParams,
    features: &Path,
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let source = Artifact::open(features, &Features::KINDS)?;
    let inputs = source.inputs(&Split::ALL.map(Split::file_name))?;
    let stage = Stage::new(
        CODES,
        env!("CARGO_PKG_VERSION"),
        &CanonicalParams {
            encoder: "umap",
            umap: params,
            transform_with: None,
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let splits = Features::load_splits(&source)?;
    let (train, test) = (&splits.train, &splits.test);
    let staging = stage.staging()?;
    let fitted = fit(params, &train.values, train.dim, progress)
        .map_err(|e| in_file(e, inputs[0].path()))?;
    let (test_embedding, transform_seconds) = fitted
        .transform(&test.values, progress)
        .map_err(|e| in_file(e, inputs[1].path()))?;
    let c = params.n_components;
    write_split(
        &staging,
        Split::Train,
        fitted.embedding.clone(),
        &train.labels,
        c,
    )?;
    write_split(&staging, Split::Test, test_embedding, &test.labels, c)?;
    TensorWriter::new()
        .add("inputs", &[fitted.len(), fitted.dim], &fitted.inputs)
        .add("embedding", &[fitted.len(), c], &fitted.embedding)
        .write(&staging.file(MODEL_FILE))?;
    let facts = source_facts(&source, train.dim, out)?;
    let facts_fitted_on = facts.fitted_on.clone();
    let info = facts.codes_info(
        c,
        &splits,
        UmapDetails {
            umap: params.clone(),
            init_used: fitted.init_used,
            a: fitted.a,
            b: fitted.b,
            fitted_on: facts_fitted_on,
            n_fitted: fitted.len(),
            fit_seconds: Some(fitted.seconds.clone()),
            transform_seconds,
            fitted_model: None,
            threads: rayon::current_num_threads(),
        },
    );
    let manifest = staging.commit(
        &stage,
        &[
            Split::Train.file_name(),
            Split::Test.file_name(),
            MODEL_FILE,
        ],
        &info,
        Environment::here().threads(rayon::current_num_threads()),
    )?;
    Ok(Outcome::built(manifest))
}

/// Reads the fitted UMAP of [`MODEL_FILE`] at `path`, with the facts `details` records.
fn read_fitted(path: &Path, details: &UmapDetails) -> Result<FittedUmap> {
    let file = TensorFile::open(path)?;
    let fitted_inputs = file.read::<f32>("inputs", Some(2))?;
    let embedding = file.read::<f32>("embedding", Some(2))?;
    if fitted_inputs.shape[0] != embedding.shape[0]
        || embedding.shape[1] != details.umap.n_components
    {
        return Err(UmapError::InvalidData(format!(
            "{}: inputs {:?} and embedding {:?} do not make a {}-d UMAP",
            path.display(),
            fitted_inputs.shape,
            embedding.shape,
            details.umap.n_components
        )));
    }
    Ok(FittedUmap {
        params: details.umap.clone(),
        a: details.a,
        b: details.b,
        dim: fitted_inputs.shape[1],
        inputs: fitted_inputs.data,
        embedding: embedding.data,
        seconds: PhaseSeconds::default(),
        init_used: details.init_used,
    })
}

/// The UMAP that placed the codes of the artifact `codes`: its own fit, or, for codes
/// placed by `--transform`, the fit it names (every file verified against its
/// manifest). Returns the artifact that holds the fit too.
pub fn load(codes: &Artifact) -> Result<(FittedUmap, Artifact)> {
    let info: CodesInfo<UmapDetails> = codes.info()?;
    let fit = match &info.details.fitted_model {
        Some(r) => Artifact::open(&r.resolve(codes.dir()), &[CODES])?,
        None => codes.clone(),
    };
    let details = fit.info::<CodesInfo<UmapDetails>>()?.details;
    let path = fit.verified_path(MODEL_FILE)?;
    Ok((read_fitted(&path, &details)?, fit))
}

fn in_file(e: UmapError, path: &Path) -> UmapError {
    match e {
        UmapError::InvalidData(m) => UmapError::InvalidData(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// Places both splits of `features` with the UMAP fitted in the artifact `model_dir`
/// (neither split is refitted) and writes a codes artifact to `out`.
pub fn transform(
    model_dir: &Path,
    features: &Path,
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let (model, model_info) = Artifact::open_as::<CodesInfo<UmapDetails>>(model_dir)?;
    let source = Artifact::open(features, &Features::KINDS)?;
    let mut inputs = vec![model.input(MODEL_FILE)?];
    for s in Split::ALL {
        inputs.push(source.input(s.file_name())?);
    }
    let details = &model_info.details;
    let stage = Stage::new(
        CODES,
        env!("CARGO_PKG_VERSION"),
        &CanonicalParams {
            encoder: "umap",
            umap: &details.umap,
            transform_with: Some(&model.manifest().cache_key),
        },
        &inputs,
        out,
    )?;
    if let Some(outcome) = stage.reuse(force) {
        return Ok(outcome);
    }
    let splits = Features::load_splits(&source)?;
    let (train, test) = (&splits.train, &splits.test);
    let facts = source_facts(&source, train.dim, out)?;
    let want = &details.fitted_on;
    let got = &facts.fitted_on;
    if got != want {
        return Err(UmapError::InvalidData(format!(
            "{}: holds {:?} features of {} dimensions from {} (model {}), but the UMAP in {} was fitted on {:?} features of {} dimensions from {} (model {}): they are not in the same space",
            features.display(),
            got.kind,
            got.dim,
            got.encoder.as_deref().unwrap_or("pixels"),
            got.model_key.as_deref().map_or("none", |k| &k[..12.min(k.len())]),
            model_dir.display(),
            want.kind,
            want.dim,
            want.encoder.as_deref().unwrap_or("pixels"),
            want.model_key.as_deref().map_or("none", |k| &k[..12.min(k.len())]),
        )));
    }
    let fitted = read_fitted(inputs[0].path(), details)?;
    let staging = stage.staging()?;
    let c = details.umap.n_components;
    let mut seconds = PhaseSeconds::default();
    for (split, f, path) in [
        (Split::Train, &train, inputs[1].path()),
        (Split::Test, &test, inputs[2].path()),
    ] {
        let (y, s) = fitted
            .transform(&f.values, progress)
            .map_err(|e| in_file(e, path))?;
        seconds.knn += s.knn;
        seconds.graph += s.graph;
        seconds.layout += s.layout;
        write_split(&staging, split, y, &f.labels, c)?;
    }
    let info = facts.codes_info(
        c,
        &splits,
        UmapDetails {
            fit_seconds: None,
            transform_seconds: seconds,
            fitted_model: Some(model.reference_from(out)),
            threads: rayon::current_num_threads(),
            ..details.clone()
        },
    );
    let manifest = staging.commit(
        &stage,
        &[Split::Train.file_name(), Split::Test.file_name()],
        &info,
        Environment::here().threads(rayon::current_num_threads()),
    )?;
    Ok(Outcome::built(manifest))
}
