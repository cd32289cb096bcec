//! The Markdown report: the summary table, one row per run, the pictures.

use std::fmt::Write as _;

use aeclust_artifact::kinds::{GroupSummary, MethodFit, PerSplit, Stat};

use super::load::ClusteringRun;
use crate::metrics::SplitMetrics;

fn cell(s: &Option<Stat>) -> String {
    s.as_ref().map_or("–".into(), Stat::to_string)
}

/// The summary tables: against the labels (labelled groups only; the study's column
/// only when `with_paper`), then quality without labels (every group).
pub(crate) fn summary_table(groups: &[GroupSummary], with_paper: bool) -> String {
    let mut t = String::new();
    let labelled: Vec<&GroupSummary> = groups
        .iter()
        .filter(|g| g.test_acc.is_some() || g.train_acc.is_some())
        .collect();
    if !labelled.is_empty() {
        t.push_str(
            "| clustering | seeds | test ACC | train ACC | test NMI | test ARI | test purity |",
        );
        t.push_str(if with_paper { " paper ACC |\n" } else { "\n" });
        t.push_str("|---|---|---|---|---|---|---|");
        t.push_str(if with_paper { "---|\n" } else { "\n" });
        for g in labelled {
            let _ = write!(
                t,
                "| {} (`{}`) | {} | {} | {} | {} | {} | {} |",
                g.title,
                g.name,
                g.seeds.len(),
                cell(&g.test_acc),
                cell(&g.train_acc),
                cell(&g.test_nmi),
                cell(&g.test_ari),
                cell(&g.test_purity),
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
        t.push('\n');
    }
    t.push_str(
        "| clustering (quality without labels, train split) | seeds | k | silhouette ↑ | Calinski–Harabasz ↑ | Davies–Bouldin ↓ | BIC ↓ |\n|---|---|---|---|---|---|---|\n",
    );
    for g in groups {
        let _ = writeln!(
            t,
            "| {} (`{}`) | {} | {} | {} | {} | {} | {} |",
            g.title,
            g.name,
            g.seeds.len(),
            if g.k_per_seed.len() == g.seeds.len() {
                g.k_by_seed()
            } else {
                g.k.to_string()
            },
            cell(&g.silhouette),
            g.calinski_harabasz
                .as_ref()
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            cell(&g.davies_bouldin),
            g.bic
                .as_ref()
                .map_or("–".into(), |s| format!("{:.4e}", s.mean)),
        );
    }
    t
}

/// How many clusters each searched clustering proposes, seed by seed, and whether its
/// seeds agree; empty when no k was searched.
pub(crate) fn k_section(groups: &[GroupSummary]) -> String {
    let searched: Vec<&GroupSummary> = groups
        .iter()
        .filter(|g| !g.k_decisions.is_empty() && g.k_decisions.len() == g.seeds.len())
        .collect();
    if searched.is_empty() {
        return String::new();
    }
    let mut md = String::from("\n## Number of clusters\n\n");
    for g in searched {
        let _ = writeln!(md, "{} (`{}`):\n", g.title, g.name);
        for (seed, decision) in g.seeds.iter().zip(&g.k_decisions) {
            let _ = writeln!(md, "- seed {seed}: {decision}.");
        }
        if g.seeds.len() < 2 {
            md.push('\n');
        } else if !g.seeds_disagree_on_k() {
            let _ = writeln!(
                md,
                "\nThe {} seeds agree: k = {}.\n",
                g.seeds.len(),
                g.k_by_seed()
            );
        } else {
            let majority = g.k_of_most_seeds().map_or(String::new(), |(k, n)| {
                format!(
                    " Most seeds ({n} of {}) propose k = {k}; `--k {k}` keeps it on every seed.",
                    g.seeds.len()
                )
            });
            let _ = writeln!(
                md,
                "\nThe seeds disagree: k = {}. Each seed fits its own encoder or embedding \
                 (an autoencoder, a UMAP), and one seed's can split a group that another's \
                 keeps whole. Compare the \
                 tree's cuts at k − 1, k and k + 1 below (seed {}), and fix the number you \
                 trust with `--k N`.{majority}\n",
                g.k_by_seed(),
                g.seeds[0]
            );
        }
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}

fn metric(m: &Option<SplitMetrics>, f: fn(&SplitMetrics) -> f64) -> String {
    m.as_ref().map_or("–".into(), |m| format!("{:.3}", f(m)))
}

/// The whole `report.md`.
pub(crate) fn document(
    table: &str,
    k_section: &str,
    runs: &[ClusteringRun],
    metrics: &[PerSplit<Option<SplitMetrics>>],
    pictures: &str,
    warnings: &[String],
    with_paper: bool,
) -> String {
    let mut md = String::from(
        "# aeclust report\n\nWith labels: accuracy after the best one-to-one mapping of clusters to classes (Hungarian); NMI with arithmetic normalisation; ARI. Without labels: silhouette on a seeded sample of up to 5,000 train rows, Calinski–Harabasz, Davies–Bouldin and (GMMs) BIC, all on the train split. Mean ± standard deviation over seeds where there are several.",
    );
    if with_paper {
        md.push_str(" Paper: Pai, *Unsupervised Learning using K-Means Clustering & Gaussian Mixture Model augmented by Deep Auto-Encoders* (Fashion-MNIST).");
    }
    md.push_str("\n\n");
    md.push_str(table);
    md.push_str(k_section);
    let labelled = metrics
        .iter()
        .any(|m| m.train.is_some() || m.test.is_some());
    if labelled {
        md.push_str("\n## Per run\n\n| clustering | seed | k | test ACC | train ACC | test NMI | test ARI | silhouette | iterations | fit s |\n|---|---|---|---|---|---|---|---|---|---|\n");
    } else {
        md.push_str("\n## Per run\n\n| clustering | seed | k | silhouette | Calinski–Harabasz | Davies–Bouldin | iterations | fit s |\n|---|---|---|---|---|---|---|---|\n");
    }
    let opt = |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
    for (run, m) in runs.iter().zip(metrics) {
        let q = &run.info.internal;
        let _ = write!(md, "| `{}` | {} | {} |", run.name, run.seed(), run.k());
        if labelled {
            let _ = write!(
                md,
                " {} | {} | {} | {} | {} |",
                metric(&m.test, |m| m.acc),
                metric(&m.train, |m| m.acc),
                metric(&m.test, |m| m.nmi),
                metric(&m.test, |m| m.ari),
                opt(q.silhouette, 3),
            );
        } else {
            let _ = write!(
                md,
                " {} | {} | {} |",
                opt(q.silhouette, 3),
                opt(q.calinski_harabasz, 1),
                opt(q.davies_bouldin, 3),
            );
        }
        let _ = writeln!(
            md,
            " {} | {:.2} |",
            run.info.fit.n_iter, run.info.fit.fit_seconds
        );
    }
    let scans: Vec<_> = runs
        .iter()
        .filter_map(|run| match &run.info.result {
            MethodFit::Scan(scan) => Some((run, scan)),
            _ => None,
        })
        .collect();
    if !scans.is_empty() {
        md.push_str("\n## SCAN heads\n\nThe head each SCAN clustering kept, and every head's mean adjusted Rand index with the other heads (train split) and loss.\n\n| clustering | seed | kept head | agreement per head | loss per head |\n|---|---|---|---|---|\n");
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (run, scan) in scans {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} of {} | {} | {} |",
                run.name,
                run.seed(),
                scan.head,
                scan.head_loss.len(),
                list(&scan.head_agreement),
                list(&scan.head_loss),
            );
        }
    }
    let selflabelled: Vec<_> = runs
        .iter()
        .filter_map(|run| Some((run, run.info.result.selflabel()?)))
        .collect();
    if !selflabelled.is_empty() {
        md.push_str("\n## Self-labelling\n\nThe train images each self-labelled SCAN network assigns with a probability above the threshold, at the start (the SCAN network) and at the pass kept (the largest set); with labels, the fraction of them whose cluster maps to their class (clusters mapped on the whole train split; the labels never train).\n\n| clustering | seed | confident at the start | right | kept pass | confident then | right | train rows moved | why it stopped |\n|---|---|---|---|---|---|---|---|---|\n");
        let right = |a: Option<f64>| a.map_or("–".into(), |a| format!("{a:.3}"));
        for (run, fit) in selflabelled {
            let (first, kept) = (&fit.history[0], &fit.history[fit.kept_epoch]);
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} of {} | {} | {} | {} | {} |",
                run.name,
                run.seed(),
                first.confident,
                right(first.confident_accuracy),
                fit.kept_epoch,
                fit.history.len() - 1,
                kept.confident,
                right(kept.confident_accuracy),
                kept.changed,
                fit.stopped,
            );
        }
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

    fn group(paper: Option<f64>) -> GroupSummary {
        GroupSummary {
            name: "gmm-codes".into(),
            title: "GMM (full) on pca codes (30-d)".into(),
            seeds: vec![72, 1],
            test_acc: Some(Stat::of(&[0.6, 0.7])),
            train_acc: Some(Stat::of(&[0.5, 0.5])),
            test_nmi: Some(Stat::of(&[0.4, 0.4])),
            test_ari: Some(Stat::of(&[0.3, 0.3])),
            test_purity: Some(Stat::of(&[0.2, 0.2])),
            k: Stat::of(&[10.0, 10.0]),
            k_per_seed: vec![10, 10],
            k_decisions: Vec::new(),
            silhouette: Some(Stat::of(&[0.25, 0.35])),
            calinski_harabasz: Some(Stat::of(&[1000.0, 1200.0])),
            davies_bouldin: Some(Stat::of(&[1.5, 1.5])),
            bic: None,
            paper_acc: paper,
        }
    }

    #[test]
    fn table_rows_and_the_paper_column() {
        let t = summary_table(&[group(Some(0.61))], true);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(
            lines[6],
            "| GMM (full) on pca codes (30-d) (`gmm-codes`) | 2 | 10 | 0.300 ± 0.071 | 1100.0 | 1.500 ± 0.000 | – |"
        );
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
        let mut unlabelled = group(None);
        unlabelled.test_acc = None;
        unlabelled.train_acc = None;
        let t = summary_table(&[unlabelled], false);
        assert!(
            !t.contains("test ACC"),
            "no accuracy table without labels: {t}"
        );
        assert_eq!(t.lines().count(), 3, "{t}");
        assert_eq!(
            t.lines().next().unwrap().matches('|').count(),
            t.lines().nth(2).unwrap().matches('|').count(),
            "as many cells as headers"
        );
    }

    #[test]
    fn seeds_that_disagree_on_k_are_named() {
        let mut g = group(None);
        g.seeds = vec![72, 1, 2];
        g.k_per_seed = vec![5, 6, 6];
        g.k_decisions = ["k = 5: a", "k = 6: b", "k = 6: c"]
            .map(String::from)
            .to_vec();
        assert_eq!(g.k_by_seed(), "5 (seed 72), 6 (seeds 1, 2)");
        let row = summary_table(std::slice::from_ref(&g), false);
        assert!(row.contains("| 3 | 5 (seed 72), 6 (seeds 1, 2) |"), "{row}");
        let md = k_section(std::slice::from_ref(&g));
        assert!(md.starts_with("\n## Number of clusters\n"), "{md}");
        assert!(
            md.contains("- seed 72: k = 5: a.\n- seed 1: k = 6: b.\n- seed 2: k = 6: c.\n"),
            "{md}"
        );
        assert!(
            md.contains("The seeds disagree: k = 5 (seed 72), 6 (seeds 1, 2)."),
            "{md}"
        );
        assert!(
            md.contains("Most seeds (2 of 3) propose k = 6; `--k 6` keeps it on every seed."),
            "{md}"
        );
        // No k of more than half the seeds: no majority named.
        g.seeds.push(3);
        g.k_per_seed = vec![5, 6, 6, 5];
        g.k_decisions.push("k = 5: d".into());
        assert_eq!(g.k_of_most_seeds(), None);
        assert!(!k_section(std::slice::from_ref(&g)).contains("Most seeds"));
        g.k_per_seed = vec![6, 6, 6, 6];
        assert_eq!(g.k_of_most_seeds(), None, "they agree");
        g.seeds.pop();
        g.k_decisions.pop();
        g.k_per_seed = vec![6, 6, 6];
        assert_eq!(g.k_by_seed(), "6");
        assert!(k_section(std::slice::from_ref(&g)).contains("The 3 seeds agree: k = 6."));
        // A k given, not searched: no section.
        g.k_decisions.clear();
        assert_eq!(k_section(&[g]), "");
    }

    #[test]
    fn warnings_are_listed() {
        let md = document(
            "TABLE\n",
            "",
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
