//! Loading: a clustering artifact and everything it leads to (features, dataset,
//! model), through typed infos and relocatable references.

use std::path::{Path, PathBuf};

use aeclust_artifact::kinds::{
    ClassName, ClusteringInfo, CodesInfo, DatasetInfo, FeatureKind, Features, ModelInfo, PerSplit,
    Split, CLUSTERING,
};
use aeclust_artifact::{Artifact, InputFile, TensorFile};

use super::{invalid, Result};

/// Cluster ids, confidences and true labels of one split.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SplitAssignments {
    /// Cluster id per row.
    pub clusters: Vec<usize>,
    /// GMM: posterior probability of the cluster; K-Means: distance to its centroid.
    pub confidence: Vec<f32>,
    /// True label per row, for labelled data.
    pub labels: Option<Vec<u8>>,
    /// The leaf of the k search's tree per row (searches only).
    pub leaves: Option<Vec<usize>>,
}

impl SplitAssignments {
    /// Rows.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }
}

/// The features a clustering was fitted on, typed by what they are.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Pixels of a dataset artifact.
    Pixels(DatasetInfo),
    /// Codes of an encoder.
    Codes(CodesInfo),
}

/// One clustering artifact and what it leads to.
#[derive(Debug, Clone)]
pub(crate) struct ClusteringRun {
    /// Directory name; runs sharing it over seeds form one group.
    pub name: String,
    pub clustering: Artifact,
    pub info: ClusteringInfo,
    pub features: Artifact,
    pub source: Source,
    /// The dataset the images came from, when it can be found.
    pub dataset: Option<(Artifact, DatasetInfo)>,
    /// The trained model the codes came from, if any and when it can be found.
    pub model: Option<Artifact>,
    /// What could not be found (pictures that will be missing).
    pub missing: Vec<String>,
    /// The features the scatter is drawn in (SCAN: its neighbours' codes).
    pub scatter: Artifact,
}

impl ClusteringRun {
    /// Opens the clustering artifact in `dir` and follows its references.
    pub fn open(dir: &Path) -> Result<Self> {
        let clustering = Artifact::open(dir, &[CLUSTERING])?;
        let info: ClusteringInfo = clustering.info()?;
        let features_dir = info.features.artifact.resolve(dir);
        let features = Artifact::open(&features_dir, &Features::KINDS)?;
        let mut missing = Vec::new();
        let mut follow = |what: &str, path: PathBuf| -> Option<Artifact> {
            match Artifact::open(&path, &[what]) {
                Ok(a) => Some(a),
                Err(e) => {
                    missing.push(format!("{what} artifact of {}: {e}", dir.display()));
                    None
                }
            }
        };
        let (source, dataset, model) = match info.features.kind {
            FeatureKind::Pixels => {
                let d: DatasetInfo = features.info()?;
                let dataset = Some((features.clone(), d.clone()));
                (Source::Pixels(d), dataset, None)
            }
            FeatureKind::Codes => {
                let c: CodesInfo = features.info()?;
                let dataset = follow(
                    aeclust_artifact::kinds::DATASET,
                    c.dataset.resolve(&features_dir),
                )
                .map(|a| a.info::<DatasetInfo>().map(|i| (a, i)))
                .transpose()?;
                let model = c
                    .model
                    .as_ref()
                    .and_then(|m| follow(aeclust_artifact::kinds::MODEL, m.resolve(&features_dir)));
                (Source::Codes(c), dataset, model)
            }
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "clustering".into());
        // SCAN is drawn where its notion of alike comes from (its neighbours' codes, where
        // its quality is measured too), not in the pixels its network reads.
        let scatter = match info.result.scan() {
            Some(scan) => follow(
                aeclust_artifact::kinds::CODES,
                scan.neighbours.artifact.resolve(dir),
            )
            .unwrap_or_else(|| features.clone()),
            None => features.clone(),
        };
        Ok(Self {
            name,
            clustering,
            info,
            scatter,
            features,
            source,
            dataset,
            model,
            missing,
        })
    }

    /// Every file the report reads from this run, checked against its manifest.
    pub fn inputs(&self) -> Result<Vec<InputFile>> {
        let mut files = vec![
            self.clustering.input(ClusteringInfo::ASSIGNMENTS_FILE)?,
            self.scatter.input(self.shown_split().file_name())?,
        ];
        if let Some((dataset, info)) = &self.dataset {
            files.push(dataset.input(Split::Test.file_name())?);
            if !info.has_test() {
                files.push(dataset.input(Split::Train.file_name())?);
            }
            if info.folder.is_some() {
                files.push(dataset.input(DatasetInfo::FILES_FILE)?);
            }
        }
        if let Some(model) = &self.model {
            files.push(model.input(ModelInfo::HISTORY_FILE)?);
        }
        Ok(files)
    }

    /// The clustering's seed.
    pub fn seed(&self) -> u64 {
        self.info.params.seed
    }

    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.info.k
    }

    /// The split pictures show: test, or train when there is no test split.
    pub fn shown_split(&self) -> Split {
        if self.info.n_test > 0 {
            Split::Test
        } else {
            Split::Train
        }
    }

    /// The classes, from the features' artifact.
    pub fn classes(&self) -> &[ClassName] {
        match &self.source {
            Source::Pixels(d) => &d.classes,
            Source::Codes(c) => &c.classes,
        }
    }

    /// True when the images are Fashion-MNIST (so the study's figures apply).
    pub fn is_fashion_mnist(&self) -> bool {
        self.dataset
            .as_ref()
            .is_some_and(|(_, d)| d.is_fashion_mnist())
    }

    /// The encoder's name, for codes.
    pub fn encoder(&self) -> Option<&str> {
        match &self.source {
            Source::Pixels(_) => None,
            Source::Codes(c) => Some(&c.encoder),
        }
    }

    /// The scatter's columns are principal axes already (PCA codes).
    pub fn principal_axes(&self) -> Result<bool> {
        Ok(self.scatter.kind() == aeclust_artifact::kinds::CODES
            && self.scatter.info::<CodesInfo>()?.principal_axes)
    }

    /// The route as a reader sees it: `GMM (full) on pca of dense-autoencoder codes (30-d)`,
    /// `SCAN on pixels, neighbours in dense-autoencoder codes (10-d)`.
    pub fn title(&self) -> String {
        let features = match self.encoder() {
            None => "pixels".to_string(),
            Some(enc) => format!("{enc} codes ({}-d)", self.info.features.dim),
        };
        let neighbours = match self.info.result.scan() {
            Some(scan) => match &scan.neighbours_encoder {
                Some(enc) => format!(", neighbours in {enc} codes ({}-d)", scan.neighbours.dim),
                None => ", neighbours in pixels".into(),
            },
            None => String::new(),
        };
        format!(
            "{} on {features}{neighbours}",
            self.info.params.method_title()
        )
    }

    /// Reads the assignments of both splits, checking them against `k`.
    pub fn assignments(&self) -> Result<PerSplit<SplitAssignments>> {
        let path = self.clustering.path(ClusteringInfo::ASSIGNMENTS_FILE)?;
        let file = TensorFile::open(&path)?;
        let read = |split: Split| -> Result<SplitAssignments> {
            let a = file.read::<u32>(&format!("{split}_assignments"), Some(1))?;
            let c = file.read::<f32>(&format!("{split}_confidence"), Some(1))?;
            let labels_name = format!("{split}_labels");
            let l = if file.names().contains(&labels_name) {
                Some(file.read::<u8>(&labels_name, Some(1))?.data)
            } else {
                None
            };
            let leaves_name = format!("{split}_leaves");
            let leaves = match (&self.info.k_search, file.names().contains(&leaves_name)) {
                (Some(search), true) => {
                    let n_leaves = search.tree.as_ref().map_or(0, |t| t.leaves());
                    let leaves = file.read::<u32>(&leaves_name, Some(1))?.data;
                    if leaves.len() != a.data.len()
                        || leaves.iter().any(|&l| l as usize >= n_leaves)
                    {
                        return Err(invalid(
                            &path,
                            format!("{split}: leaves do not fit the {n_leaves} leaves of the tree"),
                        ));
                    }
                    Some(leaves.into_iter().map(|l| l as usize).collect())
                }
                _ => None,
            };
            for (what, n) in [
                ("labels", l.as_ref().map(Vec::len)),
                ("confidences", Some(c.data.len())),
            ] {
                if let Some(n) = n.filter(|&n| n != a.data.len()) {
                    return Err(invalid(
                        &path,
                        format!("{split}: {} assignments for {n} {what}", a.data.len()),
                    ));
                }
            }
            if let Some(&bad) = a.data.iter().find(|&&c| c as usize >= self.k()) {
                return Err(invalid(
                    &path,
                    format!("{split}: cluster id {bad} but k = {}", self.k()),
                ));
            }
            Ok(SplitAssignments {
                clusters: a.data.iter().map(|&c| c as usize).collect(),
                confidence: c.data,
                labels: l,
                leaves,
            })
        };
        Ok(PerSplit {
            train: read(Split::Train)?,
            test: read(Split::Test)?,
        })
    }
}
