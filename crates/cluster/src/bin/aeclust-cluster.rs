//! `aeclust-cluster`: K-Means or a Gaussian mixture on a dataset or codes artifact.

use std::path::PathBuf;

use aeclust_artifact::kinds::{
    ClusteringInfo, ClusteringParams, CovarianceType, GmmOptions, KMeansOptions, KRange, KRule,
    Method, MethodParams, MiniBatch, Precision,
};
use aeclust_cluster::stage::run;
use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Fits K-Means or a GMM on the train split of a features artifact (a dataset: pixels
/// scaled to [0, 1]; or a codes artifact), predicts train and test, and writes the
/// parameters, the assignments and summary.json.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A dataset or codes artifact directory.
    #[arg(long)]
    features: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Clustering method.
    #[arg(long, value_enum, default_value = "kmeans")]
    method: Method,
    /// Number of clusters (components); an inclusive range such as 4..20; or `auto`
    /// (2..20). A range fits every k and keeps one by --k-rule; every criterion's curve
    /// (silhouette, Calinski–Harabasz, Davies–Bouldin, GMM: BIC), HDBSCAN's count, the
    /// decision and the tree of the largest k's clusters go to summary.json.
    #[arg(long, default_value = "10", conflicts_with = "k_from")]
    k: KRange,
    /// How a range decides: `density`, the number of dense groups HDBSCAN finds in
    /// these features (on a seeded sample of up to 10,000 train rows), when it is in the
    /// range, else the highest silhouette; or `silhouette` (on a seeded sample of 5,000).
    #[arg(long, value_enum, default_value = "density")]
    k_rule: KRuleArg,
    /// The smallest dense group for `--k-rule density`, as a fraction of the rows:
    /// smaller groups count as no group.
    #[arg(long, default_value_t = KRule::MIN_GROUP)]
    min_group: f64,
    /// Another embedding of the same images (e.g. the UMAP of another autoencoder's
    /// codes), repeatable: HDBSCAN counts its dense groups too, and `--k-rule density`
    /// keeps the median of every count: one autoencoder's codes may join or split a
    /// group that most others do not.
    #[arg(long, value_name = "CODES")]
    votes: Vec<PathBuf>,
    /// Take k from another clustering artifact (e.g. one whose k was searched).
    #[arg(long, value_name = "CLUSTERING")]
    k_from: Option<PathBuf>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 72)]
    seed: u64,
    /// Maximum iterations per restart.
    #[arg(long, default_value_t = 500)]
    max_iter: usize,
    /// Restarts; the best objective wins.
    #[arg(long, default_value_t = 1)]
    n_init: usize,
    /// GMM covariance shape (GMM only).
    #[arg(long, value_enum, default_value = "full")]
    covariance: CovarianceType,
    /// GMM: added to every covariance diagonal (GMM only).
    #[arg(long, default_value_t = 1e-6)]
    reg_covar: f64,
    /// Tolerance (default: 1e-4 relative centre shift for K-Means, 1e-3 log-likelihood
    /// change for GMM, as scikit-learn).
    #[arg(long)]
    tol: Option<f64>,
    /// Arithmetic precision (f32 is 2-3x faster and gave identical assignments and
    /// likelihoods to 7 digits on the real codes; f64 for ill-conditioned data).
    #[arg(long, value_enum, default_value = "f32")]
    precision: Precision,
    /// K-Means only: mini-batch K-Means (Sculley) with batches of this many rows, streamed
    /// from the codes file (rows drawn at random over the split; only a batch in memory),
    /// then both splits assigned batch by batch: for more rows than memory holds. The
    /// centres start from a full K-Means (--n-init restarts) of the first batch.
    #[arg(long, value_name = "ROWS")]
    batch_size: Option<usize>,
    /// With --batch-size: passes over the train rows.
    #[arg(long, default_value_t = 1, requires = "batch_size")]
    passes: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Rebuild even when an identical artifact exists.
    #[arg(long)]
    force: bool,
}

/// `--k-rule`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KRuleArg {
    Density,
    Silhouette,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    aeclust_cli::run(args.threads, || run_cli(args))
}

fn run_cli(args: Args) -> Result<()> {
    let method = args.method;
    if args.batch_size.is_some() && method != Method::Kmeans {
        anyhow::bail!("--batch-size: mini-batches are for --method kmeans");
    }
    let k = match &args.k_from {
        Some(dir) => KRange::single(
            ClusteringInfo::clusters_of(dir)
                .with_context(|| format!("--k-from {}", dir.display()))?,
        ),
        None => args.k,
    };
    let k_rule = (!k.is_single()).then_some(match args.k_rule {
        KRuleArg::Density => KRule::Density {
            min_group: args.min_group,
        },
        KRuleArg::Silhouette => KRule::Silhouette,
    });
    let params = ClusteringParams {
        k,
        seed: args.seed,
        k_rule,
        method: match method {
            Method::Kmeans => MethodParams::Kmeans(KMeansOptions {
                max_iter: args.max_iter,
                n_init: args.n_init,
                tol: args.tol.unwrap_or(1e-4),
                precision: args.precision,
                batch: args.batch_size.map(|batch_size| MiniBatch {
                    batch_size,
                    passes: args.passes,
                }),
            }),
            Method::Gmm | Method::Scan | Method::Selflabel => MethodParams::Gmm(GmmOptions {
                max_iter: args.max_iter,
                n_init: args.n_init,
                covariance: args.covariance,
                reg_covar: args.reg_covar,
                tol: args.tol.unwrap_or(1e-3),
                precision: args.precision,
            }),
        },
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("template"));
    let name = match method {
        Method::Kmeans => "k-means: inertia",
        Method::Gmm | Method::Scan | Method::Selflabel => "gmm: mean log-likelihood",
    };
    let search = !params.k.is_single();
    let outcome = run(
        &params,
        &args.features,
        &args.votes,
        &args.out,
        args.force,
        &mut |k, e| {
            bar.set_message(format!(
                "{}run {} iteration {} {name} {:.6e}",
                if search {
                    format!("k={k} ")
                } else {
                    String::new()
                },
                e.run + 1,
                e.iteration,
                e.objective
            ));
            bar.tick();
        },
    )
    .with_context(|| format!("clustering {} failed", args.features.display()))?;
    bar.finish_and_clear();
    let s: ClusteringInfo = outcome.manifest.info_as(&args.out)?;
    aeclust_cli::announce(
        "cluster",
        &args.out,
        &outcome,
        "same features and parameters",
    );
    if let Some(search) = &s.k_search {
        println!(
            "  searched k = {} by {} in {:.1} s: best k = {}",
            s.params.k,
            search.decided_by(),
            search.seconds,
            search.best_k
        );
        println!("  {}", search.decision);
        if search.best_at_edge() {
            println!(
                "  note: k = {} is an end of the range searched; the {} may keep improving beyond it",
                search.best_k, search.criterion
            );
        }
    }
    println!(
        "  {} k={} on {:?} ({} dims, {} constant dropped): {} iterations, converged {}, fit {:.2} s, {:.3} s/iteration",
        s.params.method_title(),
        s.k,
        s.features.kind,
        s.features.dim,
        s.features.constant_dims_dropped,
        s.fit.n_iter,
        s.fit.converged,
        s.fit.fit_seconds,
        s.fit.seconds_per_iteration_median.unwrap_or(f64::NAN),
    );
    Ok(())
}
