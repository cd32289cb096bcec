//! The Markdown report: the summary table, one row per run, the pictures.

use std::fmt::Write as _;

use aeclust_artifact::kinds::{GroupSummary, PerSplit};

use super::load::ClusteringRun;
use crate::metrics::SplitMetrics;

/// The summary table; the study's column only when `with_paper`.
pub(crate) fn summary_table(groups: &[GroupSummary], with_paper: bool) -> String {
    let mut t = String::from(
        "| clustering | seeds | test ACC | train ACC | test NMI | test ARI | test purity |",
    );
    t.push_str(if with_paper { " paper ACC |\n" } else { "\n" });
    t.push_str("|---|---|---|---|---|---|---|");
    t.push_str(if with_paper { "---|\n" } else { "\n" });
    for g in groups {
        let _ = write!(
            t,
            "| {} (`{}`) | {} | {} | {} | {} | {} | {} |",
            g.title,
            g.name,
            g.seeds.len(),
            g.test_acc,
            g.train_acc,
            g.test_nmi,
            g.test_ari,
            g.test_purity,
        );
        if with_paper {
            let _ = write!(
                t,
                " {} |",
                g.paper_acc.map_or("–".into(), |p| format!("{p:.2}"))
            );
        }
        t.push('\n');
    }
    t
}

/// The whole `report.md`.
pub(crate) fn document(
    table: &str,
    runs: &[ClusteringRun],
    metrics: &[PerSplit<SplitMetrics>],
    pictures: &str,
    warnings: &[String],
    with_paper: bool,
) -> String {
    let mut md = String::from(
        "# aeclust report\n\nAccuracy after the best one-to-one mapping of clusters to classes (Hungarian); NMI with arithmetic normalisation; ARI. Mean ± standard deviation over seeds where there are several.",
    );
    if with_paper {
        md.push_str(" Paper: Pai, *Unsupervised Learning using K-Means Clustering & Gaussian Mixture Model augmented by Deep Auto-Encoders* (Fashion-MNIST).");
    }
    md.push_str("\n\n");
    md.push_str(table);
    md.push_str("\n## Per run\n\n| clustering | seed | test ACC | train ACC | test NMI | test ARI | iterations | fit s |\n|---|---|---|---|---|---|---|---|\n");
    for (run, m) in runs.iter().zip(metrics) {
        let _ = writeln!(
            md,
            "| `{}` | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.2} |",
            run.name,
            run.seed(),
            m.test.acc,
            m.train.acc,
            m.test.nmi,
            m.test.ari,
            run.info.fit.n_iter,
            run.info.fit.fit_seconds,
        );
    }
    if !warnings.is_empty() {
        md.push_str("\n## Warnings\n\n");
        for w in warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    md.push_str("\n## Pictures\n");
    md.push_str(pictures);
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use aeclust_artifact::kinds::Stat;

    fn group(paper: Option<f64>) -> GroupSummary {
        GroupSummary {
            name: "gmm-codes".into(),
            title: "GMM (full) on pca codes (30-d)".into(),
            seeds: vec![72, 1],
            test_acc: Stat::of(&[0.6, 0.7]),
            train_acc: Stat::of(&[0.5, 0.5]),
            test_nmi: Stat::of(&[0.4, 0.4]),
            test_ari: Stat::of(&[0.3, 0.3]),
            test_purity: Stat::of(&[0.2, 0.2]),
            paper_acc: paper,
        }
    }

    #[test]
    fn table_rows_and_the_paper_column() {
        let t = summary_table(&[group(Some(0.61))], true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("| paper ACC |"), "{t}");
        assert_eq!(
            lines[2],
            "| GMM (full) on pca codes (30-d) (`gmm-codes`) | 2 | 0.650 ± 0.071 | 0.500 ± 0.000 | 0.400 ± 0.000 | 0.300 ± 0.000 | 0.200 ± 0.000 | 0.61 |"
        );
        let t = summary_table(&[group(None)], false);
        assert!(!t.contains("paper"), "{t}");
        assert!(
            t.lines().nth(2).unwrap().ends_with("| 0.200 ± 0.000 |"),
            "{t}"
        );
        assert_eq!(
            t.lines().next().unwrap().matches('|').count(),
            t.lines().nth(2).unwrap().matches('|').count(),
            "as many cells as headers"
        );
    }

    #[test]
    fn warnings_are_listed() {
        let md = document(
            "TABLE\n",
            &[],
            &[],
            "",
            &["montage not drawn: x".into()],
            false,
        );
        assert!(
            md.contains("## Warnings\n\n- montage not drawn: x\n"),
            "{md}"
        );
        assert!(!md.contains("Pai"), "{md}");
    }
}
