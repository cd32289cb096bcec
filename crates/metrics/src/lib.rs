//! Clustering quality against known labels: Hungarian accuracy, purity, NMI, ARI, the
//! confusion matrix after mapping clusters to classes, per-class recall.

use pathfinding::prelude::{kuhn_munkres, Matrix};
use serde::{Deserialize, Serialize};

/// Counts of (cluster, class) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contingency {
    /// `counts[cluster][class_index]`.
    pub counts: Vec<Vec<i64>>,
    /// The label of each class column, ascending.
    pub classes: Vec<u8>,
    /// Number of samples.
    pub n: i64,
}

impl Contingency {
    /// Builds the table for `k` clusters; `classes` are the labels present (or known).
    pub fn new(assignments: &[usize], labels: &[u8], k: usize, classes: &[u8]) -> Self {
        assert_eq!(assignments.len(), labels.len(), "one label per assignment");
        let mut counts = vec![vec![0i64; classes.len()]; k];
        for (&a, &l) in assignments.iter().zip(labels) {
            let c = classes
                .iter()
                .position(|&x| x == l)
                .expect("every label is a known class");
            counts[a][c] += 1;
        }
        Self {
            counts,
            classes: classes.to_vec(),
            n: labels.len() as i64,
        }
    }

    fn k(&self) -> usize {
        self.counts.len()
    }
}

/// All metrics of one clustering of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Accuracy after the best one-to-one mapping of clusters to classes.
    pub acc: f64,
    /// Fraction of samples in their cluster's majority class.
    pub purity: f64,
    /// Normalised mutual information (arithmetic normalisation).
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// `mapping[cluster]` = the class label it is mapped to (None: unmatched).
    pub mapping: Vec<Option<u8>>,
    /// Rows: true classes (ascending label); columns: clusters ordered by their mapped
    /// class, unmatched clusters last. Diagonal = correctly clustered.
    pub confusion: Vec<Vec<i64>>,
    /// Cluster id of each confusion column.
    pub confusion_columns: Vec<usize>,
    /// Recall of each class after mapping, in class order.
    pub per_class_recall: Vec<f64>,
    /// Number of samples.
    pub n: usize,
}

/// Best one-to-one mapping of clusters to classes (Hungarian algorithm on the counts);
/// returns the matched count and `mapping[cluster] = Some(class index)`.
pub fn hungarian_mapping(t: &Contingency) -> (i64, Vec<Option<usize>>) {
    let (k, c) = (t.k(), t.classes.len());
    let mut mapping = vec![None; k];
    if k == 0 || c == 0 {
        return (0, mapping);
    }
    // kuhn_munkres needs rows <= columns.
    if k <= c {
        let m = Matrix::from_rows(t.counts.clone()).expect("rectangular");
        let (total, assign) = kuhn_munkres(&m);
        for (cluster, &class) in assign.iter().enumerate() {
            mapping[cluster] = Some(class);
        }
        (total, mapping)
    } else {
        let rows: Vec<Vec<i64>> = (0..c)
            .map(|class| (0..k).map(|cl| t.counts[cl][class]).collect())
            .collect();
        let m = Matrix::from_rows(rows).expect("rectangular");
        let (total, assign) = kuhn_munkres(&m);
        for (class, &cluster) in assign.iter().enumerate() {
            mapping[cluster] = Some(class);
        }
        (total, mapping)
    }
}

fn entropy(counts: impl Iterator<Item = i64>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalised mutual information with arithmetic-mean normalisation (scikit-learn's
/// default); 1 when both partitions are trivial and equal.
pub fn nmi(t: &Contingency) -> f64 {
    let n = t.n as f64;
    if t.n == 0 {
        return 0.0;
    }
    let rows: Vec<i64> = t.counts.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<i64> = (0..t.classes.len())
        .map(|j| t.counts.iter().map(|r| r[j]).sum())
        .collect();
    let h_u = entropy(rows.iter().copied(), n);
    let h_v = entropy(cols.iter().copied(), n);
    let mut mi = 0.0;
    for (i, row) in t.counts.iter().enumerate() {
        for (j, &nij) in row.iter().enumerate() {
            if nij > 0 {
                let nij = nij as f64;
                mi += nij / n * (n * nij / (rows[i] as f64 * cols[j] as f64)).ln();
            }
        }
    }
    let denom = (h_u + h_v) / 2.0;
    if denom <= f64::EPSILON {
        1.0
    } else {
        (mi / denom).clamp(0.0, 1.0)
    }
}

/// Adjusted Rand index.
pub fn ari(t: &Contingency) -> f64 {
    aeclust_quality::adjusted_rand_index_counts(&t.counts)
}

/// Fraction of samples in the majority class of their cluster.
pub fn purity(t: &Contingency) -> f64 {
    let majority: i64 = t
        .counts
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0))
        .sum();
    majority as f64 / t.n.max(1) as f64
}

/// Every metric for `assignments` (cluster ids `0..k`) against `labels`.
pub fn evaluate(assignments: &[usize], labels: &[u8], k: usize, classes: &[u8]) -> SplitMetrics {
    let t = Contingency::new(assignments, labels, k, classes);
    let (matched, mapping) = hungarian_mapping(&t);
    let mut columns: Vec<usize> = (0..k).filter(|&cl| mapping[cl].is_some()).collect();
    columns.sort_by_key(|&cl| mapping[cl]);
    columns.extend((0..k).filter(|&cl| mapping[cl].is_none()));
    let confusion: Vec<Vec<i64>> = (0..classes.len())
        .map(|class| columns.iter().map(|&cl| t.counts[cl][class]).collect())
        .collect();
    let per_class_recall = (0..classes.len())
        .map(|class| {
            let total: i64 = t.counts.iter().map(|r| r[class]).sum();
            let hit: i64 = (0..k)
                .filter(|&cl| mapping[cl] == Some(class))
                .map(|cl| t.counts[cl][class])
                .sum();
            if total == 0 {
                0.0
            } else {
                hit as f64 / total as f64
            }
        })
        .collect();
    SplitMetrics {
        acc: matched as f64 / t.n.max(1) as f64,
        purity: purity(&t),
        nmi: nmi(&t),
        ari: ari(&t),
        mapping: mapping.iter().map(|m| m.map(|c| classes[c])).collect(),
        confusion,
        confusion_columns: columns,
        per_class_recall,
        n: labels.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(truth: &[u8], pred: &[usize], k: usize, acc: f64, purity: f64, nmi: f64, ari: f64) {
        let mut classes: Vec<u8> = truth.to_vec();
        classes.sort();
        classes.dedup();
        let m = evaluate(pred, truth, k, &classes);
        assert!((m.acc - acc).abs() < 1e-12, "acc {} vs {acc}", m.acc);
        assert!(
            (m.purity - purity).abs() < 1e-12,
            "purity {} vs {purity}",
            m.purity
        );
        assert!((m.nmi - nmi).abs() < 1e-9, "nmi {} vs {nmi}", m.nmi);
        assert!((m.ari - ari).abs() < 1e-9, "ari {} vs {ari}", m.ari);
        // The matched cells of the confusion matrix hold exactly the correct samples.
        let matched: i64 = m
            .confusion_columns
            .iter()
            .enumerate()
            .filter_map(|(col, &cluster)| {
                let class = m.mapping[cluster]?;
                let row = classes.iter().position(|&c| c == class)?;
                Some(m.confusion[row][col])
            })
            .sum();
        assert!(
            (matched as f64 / truth.len() as f64 - acc).abs() < 1e-12,
            "matched cells = accuracy"
        );
    }

    // Expected NMI and ARI from scikit-learn 1.9.1 (normalized_mutual_info_score,
    // adjusted_rand_score); accuracy and purity worked out by hand in the comments.
    #[test]
    fn k_equals_classes() {
        // Clusters 0→class 1 (3), 1→class 0 (2), 2→class 2 (3): 8/10.
        check(
            &[0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
            &[1, 1, 0, 0, 0, 0, 2, 2, 2, 1],
            3,
            0.8,
            0.8,
            0.6180656462921543,
            0.4318181818181818,
        );
    }

    #[test]
    fn fewer_clusters_than_classes() {
        // Cluster 0→class 0 (2), cluster 1→class 2 (3): 5/8; classes 1 and 3 unmatched.
        check(
            &[0, 0, 1, 1, 2, 2, 2, 3],
            &[0, 0, 0, 1, 1, 1, 1, 1],
            2,
            0.625,
            0.625,
            0.4925986063135096,
            0.25133689839572193,
        );
    }

    #[test]
    fn more_clusters_than_classes() {
        // One cluster per class at best: 1 + 2 + 1 = 4 of 6; every cluster is pure.
        check(
            &[0, 0, 1, 1, 1, 2],
            &[0, 1, 2, 3, 3, 4],
            5,
            4.0 / 6.0,
            1.0,
            0.7864379259835012,
            0.3283582089552239,
        );
        let m = evaluate(&[0, 1, 2, 3, 3, 4], &[0, 0, 1, 1, 1, 2], 5, &[0, 1, 2]);
        assert_eq!(m.mapping.iter().filter(|x| x.is_none()).count(), 2);
        assert_eq!(m.confusion[0].len(), 5);
        assert_eq!(m.per_class_recall, vec![0.5, 2.0 / 3.0, 1.0]);
    }

    #[test]
    fn perfect_and_renamed() {
        let m = evaluate(&[2, 2, 0, 0, 1], &[5, 5, 7, 7, 9], 3, &[5, 7, 9]);
        assert_eq!((m.acc, m.purity), (1.0, 1.0));
        assert!((m.nmi - 1.0).abs() < 1e-12 && (m.ari - 1.0).abs() < 1e-12);
        assert_eq!(m.mapping, vec![Some(7), Some(9), Some(5)]);
    }
}
