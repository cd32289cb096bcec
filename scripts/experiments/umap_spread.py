#!/usr/bin/env python3
"""How much of the manifold route's accuracy is the codes, and how much is luck?

Embeds one codes artifact with `aeclust-encode-umap` under several seeds (fit on train,
test placed by the fit), fits several single-start full GMMs (scikit-learn, 10
components) on each embedding, and prints for every (embedding, GMM start) pair the
test accuracy, NMI and ARI beside three label-free criteria one could pick a run by: the
GMM's mean train log-likelihood, the silhouette of its train partition in the *codes*
space (a space all runs share), and its agreement with the other runs (mean ARI).
Then: mean ± std and range of the accuracy (the route's expected accuracy on these
codes, far less noisy than one run), each criterion's correlation with accuracy, and
the accuracy of the run each criterion picks.

    scripts/python-env.sh && cargo build --release --bins
    .venv/bin/python scripts/experiments/umap_spread.py --codes artifacts/seed-72/codes --runs 6
    .venv/bin/python scripts/experiments/umap_spread.py --codes DIR --runs 4 -- --metric cosine

Arguments after `--` go to aeclust-encode-umap. Embeddings go to a temporary folder.
"""
import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture


def accuracy(y, p, k):
    counts = np.zeros((k, k))
    np.add.at(counts, (p, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codes", required=True, help="codes artifact directory")
    ap.add_argument("--runs", type=int, default=6, help="UMAP seeds 1..RUNS")
    ap.add_argument("--gmm-inits", type=int, default=4, help="single-start GMMs per embedding")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--bin", default="target/release", help="folder of the aeclust binaries")
    ap.add_argument("umap_args", nargs="*", help="after --: more aeclust-encode-umap options")
    a = ap.parse_args()

    codes = load_file(f"{a.codes}/train.safetensors")["codes"]
    sample = np.random.RandomState(0).choice(len(codes), min(5000, len(codes)), replace=False)
    agree_rows = np.random.RandomState(1).choice(len(codes), min(10000, len(codes)), replace=False)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, a.runs + 1):
            out = f"{tmp}/umap-{seed}"
            started = time.time()
            subprocess.run(
                [f"{a.bin}/aeclust-encode-umap", "--data", a.codes, "--out", out, "--seed", str(seed)] + a.umap_args,
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            umap_s = time.time() - started
            train = load_file(f"{out}/train.safetensors")
            test = load_file(f"{out}/test.safetensors")
            x, xt, yt = train["codes"], test["codes"], test["labels"].astype(int)
            for g in range(a.gmm_inits):
                gmm = GaussianMixture(a.k, covariance_type="full", random_state=g).fit(x)
                p, pt = gmm.predict(x), gmm.predict(xt)
                run = dict(
                    seed=seed, start=g, p=p,
                    acc=accuracy(yt, pt, a.k),
                    nmi=normalized_mutual_info_score(yt, pt),
                    ari=adjusted_rand_score(yt, pt),
                    loglik=gmm.score(x),
                    silhouette=silhouette_score(codes[sample], p[sample]),
                )
                runs.append(run)
                print(
                    f"umap seed {seed} ({umap_s:.0f} s), gmm start {g}: test ACC {run['acc']:.3f} "
                    f"NMI {run['nmi']:.3f} ARI {run['ari']:.3f} | loglik {run['loglik']:.3f} "
                    f"silhouette(codes) {run['silhouette']:.3f}",
                    flush=True,
                )
    for r in runs:
        r["agreement"] = np.mean(
            [adjusted_rand_score(r["p"][agree_rows], o["p"][agree_rows]) for o in runs if o is not r]
        )
    acc = np.array([r["acc"] for r in runs])
    nmi = np.array([r["nmi"] for r in runs])
    ari = np.array([r["ari"] for r in runs])
    print(f"\n{a.codes}: {len(runs)} runs ({a.runs} UMAP seeds x {a.gmm_inits} GMM starts)")
    print(f"test ACC {acc.mean():.3f} ± {acc.std():.3f} (range {acc.min():.3f}-{acc.max():.3f}), "
          f"NMI {nmi.mean():.3f} ± {nmi.std():.3f}, ARI {ari.mean():.3f} ± {ari.std():.3f}")
    for key in ["loglik", "silhouette", "agreement"]:
        v = np.array([r[key] for r in runs])
        print(f"pick by {key:>10}: ACC {acc[v.argmax()]:.3f} (correlation with ACC {np.corrcoef(v, acc)[0, 1]:+.2f})")


if __name__ == "__main__":
    sys.exit(main())
