//! `--k auto` on synthetic groups whose number is known: well separated, of unequal
//! sizes, and with one very small group; the search records every criterion's curve,
//! HDBSCAN's count, the decision and the tree of the largest k's clusters.

use std::path::{Path, PathBuf};
use std::process::Command;

use aeclust_artifact::fixtures;
use aeclust_artifact::kinds::{ClusteringInfo, CodesSplit};
use aeclust_artifact::{Manifest, TensorFile};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const BIN: &str = env!("CARGO_BIN_EXE_aeclust-cluster");

/// Gaussian blobs in 2-D: `sizes[g]` points around `centres[g]` with spread `sd`.
fn blobs(centres: &[[f32; 2]], sizes: &[usize], sd: f32, seed: u64) -> CodesSplit {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut codes = Vec::new();
    let mut labels = Vec::new();
    for (g, (c, &n)) in centres.iter().zip(sizes).enumerate() {
        for _ in 0..n {
            // Box–Muller.
            let (u1, u2): (f32, f32) = (rng.gen_range(1e-6..1.0), rng.gen());
            let r = (-2.0 * u1.ln()).sqrt() * sd;
            let t = 2.0 * std::f32::consts::PI * u2;
            codes.extend([c[0] + r * t.cos(), c[1] + r * t.sin()]);
            labels.push(g as u8);
        }
    }
    CodesSplit {
        codes,
        labels: Some(labels),
        dim: 2,
    }
}

/// `aeclust-cluster --k auto` (K-Means, `extra` options) on the blobs; the proposed k,
/// the info and the output folder.
fn propose_with(
    root: &Path,
    name: &str,
    train: &CodesSplit,
    extra: &[&str],
) -> (usize, ClusteringInfo, PathBuf) {
    let codes = root.join(name);
    let test = blobs(&[[0.0, 0.0]], &[5], 0.1, 9);
    fixtures::codes(&codes, train, &test, root).unwrap();
    let out = root.join(format!("{name}-k"));
    let o = Command::new(BIN)
        .args(["--features", codes.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(["--method", "kmeans", "--n-init", "3"])
        .args(if extra.contains(&"--k") {
            &[][..]
        } else {
            &["--k", "auto"]
        })
        .args(extra)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    let info: ClusteringInfo = Manifest::read_dir(&out).unwrap().info_as(&out).unwrap();
    let decision = &info.k_search.as_ref().expect("a search").decision;
    assert!(text.contains(decision.as_str()), "{text}");
    (info.k, info, out)
}

/// [`propose_with`] the default rule.
fn propose(root: &Path, name: &str, train: &CodesSplit) -> (usize, ClusteringInfo, PathBuf) {
    propose_with(root, name, train, &[])
}

const SQUARE: [[f32; 2]; 5] = [
    [0.0, 0.0],
    [10.0, 0.0],
    [0.0, 10.0],
    [10.0, 10.0],
    [20.0, 5.0],
];

#[test]
fn well_separated_groups_give_their_number() {
    let tmp = tempfile::tempdir().unwrap();
    let (k, info, out) = propose(tmp.path(), "four", &blobs(&SQUARE[..4], &[150; 4], 1.0, 1));
    assert_eq!(k, 4);
    let search = info.k_search.expect("a search");
    assert_eq!(search.curve.len(), 19, "k = 2..20");
    assert_eq!((search.curve[0].k, search.curve[18].k), (2, 20));
    let names: Vec<&str> = search.criteria.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["silhouette", "calinski_harabasz", "davies_bouldin"]);
    assert!(search.criteria.iter().all(|c| c.values.len() == 19));
    assert!(search.decision.contains("k = 4"), "{}", search.decision);
    // HDBSCAN's count decides, and the silhouette agrees.
    let density = search.density.as_ref().expect("HDBSCAN's count");
    assert_eq!(
        (density.groups, density.rows, density.min_cluster_size),
        (4, 600, 12)
    );
    assert_eq!(
        density.group_sizes.iter().sum::<usize>() + density.noise_rows,
        600
    );
    assert!(search.decided_by_density());
    assert!(
        search
            .decision
            .starts_with("k = 4: HDBSCAN finds 4 dense groups of at least 12 of 600 train rows"),
        "{}",
        search.decision
    );
    assert!(
        search.decision.contains("the silhouette agrees"),
        "{}",
        search.decision
    );
    // The runner-up is named with its score: the best of the other k.
    let sil = &search.criteria[0].values;
    let (next_k, next) = (2..=20usize)
        .zip(sil)
        .filter(|(k, _)| *k != 4)
        .map(|(k, v)| (k, v.expect("a silhouette at every k")))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(
        search
            .decision
            .contains(&format!("the next best is k = {next_k} ({next:.3},")),
        "{}",
        search.decision
    );
    // The tree: the 20 clusters of k = 20 merged; cut into 4 it gives the 4 groups.
    let tree = search.tree.expect("a tree");
    assert_eq!(tree.leaves(), 20);
    assert_eq!(tree.merges.len(), 19);
    assert_eq!(tree.leaf_sizes.iter().sum::<usize>(), 600);
    let file = TensorFile::open(&out.join(ClusteringInfo::ASSIGNMENTS_FILE)).unwrap();
    let leaves = file.read::<u32>("train_leaves", Some(1)).unwrap().data;
    let clusters = file.read::<u32>("train_assignments", Some(1)).unwrap().data;
    let groups = tree.cut(4);
    // Every leaf's rows share one cluster of the proposed k, and the cut's groups match
    // the clusters one to one.
    for l in 0..20 {
        let mine: Vec<u32> = (0..600)
            .filter(|&i| leaves[i] as usize == l)
            .map(|i| clusters[i])
            .collect();
        assert!(
            mine.windows(2).all(|w| w[0] == w[1]),
            "leaf {l} spans clusters"
        );
    }
    let mut pairs: Vec<(usize, u32)> = (0..600)
        .map(|i| (groups[leaves[i] as usize], clusters[i]))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    assert_eq!(pairs.len(), 4, "{pairs:?}");
}

#[test]
fn unequal_sizes_and_one_very_small_group_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let (k, _, _) = propose(
        tmp.path(),
        "unequal",
        &blobs(&SQUARE[..3], &[600, 150, 40], 1.0, 2),
    );
    assert_eq!(k, 3, "unequal sizes");
    // A group of 12 among 1,212 points (1 %) is below the default smallest dense group
    // (2 %): HDBSCAN counts the four others, and says how small a group it counts.
    let small = blobs(&SQUARE, &[300, 300, 300, 300, 12], 1.0, 3);
    let (k, info, _) = propose(tmp.path(), "small", &small);
    assert_eq!(k, 4, "the default counts groups of at least 2 %");
    let decision = info.k_search.unwrap().decision;
    assert!(
        decision.contains("4 dense groups of at least 24 of 1212 train rows"),
        "{decision}"
    );
    // A smaller smallest group finds it, and so does the silhouette.
    let (k, _, _) = propose_with(tmp.path(), "small-05", &small, &["--min-group", "0.005"]);
    assert_eq!(
        k, 5,
        "a group of 12 among 1,212 points, groups of at least 0.5 %"
    );
    let (k, info, _) = propose_with(tmp.path(), "small-sil", &small, &["--k-rule", "silhouette"]);
    assert_eq!(k, 5, "a group of 12 among 1,212 points, by the silhouette");
    let search = info.k_search.unwrap();
    assert!(search.density.is_none());
    assert!(
        search.decision.starts_with("k = 5: the highest silhouette"),
        "{}",
        search.decision
    );
}

#[test]
fn a_count_outside_the_range_leaves_the_decision_to_the_silhouette() {
    let tmp = tempfile::tempdir().unwrap();
    // Five groups, searched over 2..3: HDBSCAN's 5 is outside.
    let (k, info, _) = propose_with(
        tmp.path(),
        "five",
        &blobs(&SQUARE, &[200; 5], 1.0, 6),
        &["--k", "2..3"],
    );
    let search = info.k_search.unwrap();
    assert_eq!(search.density.as_ref().unwrap().groups, 5);
    assert!(!search.decided_by_density());
    assert!(
        search
            .decision
            .contains("outside k = 2..3, so the silhouette decides"),
        "{}",
        search.decision
    );
    assert!((2..=3).contains(&k));
    // Nine rows: too few for a dense group of 10; the silhouette decides.
    let (k, info, _) = propose_with(
        tmp.path(),
        "nine",
        &blobs(&SQUARE[..3], &[3; 3], 0.5, 7),
        &["--k", "2..3"],
    );
    let decision = info.k_search.unwrap().decision;
    assert!(
        decision.contains("HDBSCAN finds 0 dense groups of at least 10 of 9 train rows")
            && decision.contains("so the silhouette decides"),
        "{decision}"
    );
    assert_eq!(k, 3, "{decision}");
    let bad = Command::new(BIN)
        .args(["--features", tmp.path().join("five").to_str().unwrap()])
        .args(["--out", tmp.path().join("bad").to_str().unwrap()])
        .args(["--k", "auto", "--min-group", "1.5"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("--min-group 1.5"), "{err}");
    assert!(!tmp.path().join("bad").exists(), "no half-written artifact");
}

#[test]
fn a_given_range_is_searched_and_k_from_takes_another_clusterings_k() {
    let tmp = tempfile::tempdir().unwrap();
    let codes = tmp.path().join("codes");
    let train = blobs(&SQUARE[..3], &[100; 3], 1.0, 4);
    fixtures::codes(
        &codes,
        &train,
        &blobs(&SQUARE[..3], &[5; 3], 1.0, 5),
        tmp.path(),
    )
    .unwrap();
    let run = |out: &Path, extra: &[&str]| {
        let o = Command::new(BIN)
            .args(["--features", codes.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Manifest::read_dir(out)
            .unwrap()
            .info_as::<ClusteringInfo>(out)
            .unwrap()
    };
    let searched = tmp.path().join("searched");
    let info = run(&searched, &["--method", "gmm", "--k", "2..5"]);
    let search = info.k_search.unwrap();
    assert_eq!((info.k, search.curve.len()), (3, 4));
    assert!(
        search.criteria.iter().any(|c| c.name == "bic"),
        "a GMM search records its BIC"
    );
    assert_eq!(search.tree.unwrap().leaves(), 5);
    let follower = tmp.path().join("follower");
    let info = run(
        &follower,
        &["--method", "kmeans", "--k-from", searched.to_str().unwrap()],
    );
    assert_eq!(info.k, 3);
    assert!(info.k_search.is_none());
}

#[test]
fn votes_of_other_embeddings_decide_by_the_median_count() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let sizes = [200; 5];
    // The same 1,000 images in three embeddings: in the searched one two of the five
    // groups touch (HDBSCAN counts 4); in the two that vote all five stand apart.
    let mut touching = SQUARE;
    touching[4] = [12.5, 10.0];
    let test = blobs(&[[0.0, 0.0]], &[5], 0.1, 9);
    for (name, seed) in [("vote-a", 11), ("vote-b", 12)] {
        fixtures::codes(
            &root.join(name),
            &blobs(&SQUARE, &sizes, 1.0, seed),
            &test,
            root,
        )
        .unwrap();
    }
    let alone = propose(root, "alone", &blobs(&touching, &sizes, 1.0, 10)).1;
    assert_eq!(alone.k_search.unwrap().density.unwrap().groups, 4);
    let vote = |name: &str| root.join(name).to_str().unwrap().to_owned();
    let (a, b) = (vote("vote-a"), vote("vote-b"));
    let (k, info, _) = propose_with(
        root,
        "voted",
        &blobs(&touching, &sizes, 1.0, 10),
        &["--votes", &a, "--votes", &b],
    );
    let search = info.k_search.unwrap();
    assert_eq!(search.dense_counts(), [4, 5, 5]);
    assert_eq!(k, 5, "the median of 4, 5, 5: {}", search.decision);
    assert!(search.decided_by_density());
    assert_eq!(search.votes.len(), 2);
    assert!(search.votes[0].features.path.ends_with("vote-a"));
    assert!(
        search
            .decision
            .starts_with("k = 5: HDBSCAN finds 4 dense groups")
            && search.decision.contains(
                "in the 2 other embeddings that vote it finds 5 (0 % in none), 5 (0 % in none): \
                 the median count of the 3 is 5"
            ),
        "{}",
        search.decision
    );
    // Votes need a search by density, and the same images.
    let features = vote("voted");
    let refused = |out: &str, extra: &[&str]| {
        let out = root.join(out);
        let o = Command::new(BIN)
            .args(["--features", &features, "--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(!out.exists(), "no half-written artifact");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = refused("single", &["--k", "5", "--votes", &a]);
    assert!(
        err.contains("--votes") && err.contains("a searched k"),
        "{err}"
    );
    let err = refused(
        "by-silhouette",
        &["--k", "auto", "--k-rule", "silhouette", "--votes", &a],
    );
    assert!(err.contains("--k-rule density"), "{err}");
    let pixels = root.join("other-images");
    let images = aeclust_artifact::kinds::ImageSplit::grey(vec![0; 4 * 1000], vec![0; 1000], 2, 2);
    fixtures::dataset(&pixels, &images, &images).unwrap();
    let err = refused(
        "other",
        &["--k", "auto", "--votes", pixels.to_str().unwrap()],
    );
    assert!(
        err.contains(&format!("--votes {}", pixels.display()))
            && err.contains("not an embedding of the same images"),
        "{err}"
    );
}
