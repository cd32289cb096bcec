//! The `report` kind: metrics, tables and pictures over clusterings.

use serde::{Deserialize, Serialize};

use super::ArtifactInfo;

/// Mean, sample standard deviation and the values they summarise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
    /// The values, one per seed.
    pub values: Vec<f64>,
}

impl Stat {
    /// Summarises `values`.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
            values: values.to_vec(),
        }
    }
}

impl Stat {
    /// Summarises the values when every one is present, else none.
    pub fn of_all(values: impl IntoIterator<Item = Option<f64>>) -> Option<Self> {
        values
            .into_iter()
            .collect::<Option<Vec<f64>>>()
            .filter(|v| !v.is_empty())
            .map(|v| Self::of(&v))
    }
}

impl std::fmt::Display for Stat {
    /// `0.626 ± 0.016`, or `0.626` for one value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.values.len() > 1 {
            write!(f, "{:.3} ± {:.3}", self.mean, self.std)
        } else {
            write!(f, "{:.3}", self.mean)
        }
    }
}

/// One row of the summary table: a clustering over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The clustering's directory name, shared by its seeds.
    pub name: String,
    /// The route as a reader sees it (`GMM (full) on pca of dense-autoencoder codes (30-d)`).
    pub title: String,
    /// Seeds pooled.
    pub seeds: Vec<u64>,
    /// Test accuracy after the best one-to-one mapping (labelled data with a test split).
    pub test_acc: Option<Stat>,
    /// Train accuracy (labelled data).
    pub train_acc: Option<Stat>,
    /// Test NMI.
    pub test_nmi: Option<Stat>,
    /// Test ARI.
    pub test_ari: Option<Stat>,
    /// Test purity.
    pub test_purity: Option<Stat>,
    /// Clusters (the k kept, when a range was searched).
    pub k: Stat,
    /// The k of every seed, in the order of `seeds`.
    #[serde(default)]
    pub k_per_seed: Vec<usize>,
    /// How each seed's k was chosen, in words (its search's decision, and whether the k
    /// is an end of the range), in the order of `seeds` (empty when k was given).
    #[serde(default)]
    pub k_decisions: Vec<String>,
    /// Silhouette on a sample of the train split (higher is better).
    pub silhouette: Option<Stat>,
    /// Calinski–Harabasz index on the train split (higher is better).
    pub calinski_harabasz: Option<Stat>,
    /// Davies–Bouldin index on the train split (lower is better).
    pub davies_bouldin: Option<Stat>,
    /// BIC on the train split (GMMs; lower is better).
    pub bic: Option<Stat>,
    /// The reference study's accuracy for this route, on Fashion-MNIST only.
    pub paper_acc: Option<f64>,
}

impl GroupSummary {
    /// True when k was searched on several seeds and they kept different k.
    pub fn seeds_disagree_on_k(&self) -> bool {
        self.k_decisions.len() > 1 && self.k_per_seed.windows(2).any(|w| w[0] != w[1])
    }

    /// The k that more than half of the seeds propose, and how many do, when the seeds
    /// disagree and one k has such a majority.
    pub fn k_of_most_seeds(&self) -> Option<(usize, usize)> {
        if !self.seeds_disagree_on_k() {
            return None;
        }
        let count = |k: usize| self.k_per_seed.iter().filter(|&&x| x == k).count();
        self.k_per_seed
            .iter()
            .map(|&k| (k, count(k)))
            .find(|&(_, n)| 2 * n > self.k_per_seed.len())
    }

    /// The k of every seed, seeds of one k together in the order they first appear:
    /// `5 (seed 72), 6 (seeds 1, 2)`, or `5` when every seed has it.
    pub fn k_by_seed(&self) -> String {
        let mut by_k: Vec<(usize, Vec<u64>)> = Vec::new();
        for (&k, &seed) in self.k_per_seed.iter().zip(&self.seeds) {
            match by_k.iter_mut().find(|(x, _)| *x == k) {
                Some((_, seeds)) => seeds.push(seed),
                None => by_k.push((k, vec![seed])),
            }
        }
        if by_k.len() <= 1 {
            return by_k.first().map_or(String::new(), |(k, _)| k.to_string());
        }
        by_k.iter()
            .map(|(k, seeds)| {
                let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
                let word = if seeds.len() == 1 { "seed" } else { "seeds" };
                format!("{k} ({word} {})", list.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `info` of a report artifact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportInfo {
    /// The summary table (Markdown).
    pub table: String,
    /// Its rows.
    pub groups: Vec<GroupSummary>,
    /// Pictures drawn.
    pub pictures: Vec<String>,
    /// Pictures that could not be drawn, and why.
    pub warnings: Vec<String>,
}

impl ReportInfo {
    /// Everything, machine-readable.
    pub const JSON_FILE: &'static str = "report.json";
    /// Tables and pictures for people.
    pub const MARKDOWN_FILE: &'static str = "report.md";
    /// The same as a page to browse (works offline from `file://`): `report.md`
    /// rendered, and a gallery of every shown image in its cluster drawn from the
    /// thumbnail sheets in `thumbs/`.
    pub const HTML_FILE: &'static str = "report.html";
    /// One row per image and clustering: file, split, index, cluster, confidence,
    /// clustering, seed (when asked for).
    pub const ASSIGNMENTS_FILE: &'static str = "assignments.csv";
}

impl ArtifactInfo for ReportInfo {
    const STAGE: &'static str = super::REPORT;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_mean_and_sample_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0]);
        assert_eq!(s.mean, 2.0);
        assert!((s.std - 1.0).abs() < 1e-12);
        assert_eq!(s.to_string(), "2.000 ± 1.000");
        assert_eq!(Stat::of(&[0.5]).to_string(), "0.500");
    }
}
