#!/usr/bin/env python3
"""UMAP on autoencoder codes: aeclust-encode-umap beside umap-learn, same data, same
machine, same thread count, one run of this script.

Fits on the train split of a codes artifact (n_components 10, n_neighbors 20,
min_dist 0, Euclidean), embeds the test split with the fitted model, and prints for
both: fit and transform seconds, and (with --gmm) test accuracy/NMI of a full-covariance
GMM (scikit-learn, 10 components) on the embedding. aeclust's peak RSS is measured too.

    scripts/python-env.sh
    .venv/bin/python scripts/bench_umap.py --codes artifacts/seed-72/codes --threads 2 --gmm
"""
import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        name = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("model name"))
        flags = next(l.split(":", 1)[1].split() for l in lines if l.startswith("flags"))
        ext = [x for x in ("avx2", "fma", "avx512f") if x in flags]
        return f"{name} ({', '.join(ext)})"
    except (OSError, StopIteration):
        return platform.processor()


def accuracy(labels, clusters):
    from scipy.optimize import linear_sum_assignment
    k = max(clusters.max(), labels.max()) + 1
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(labels)


def score(train, test, y_test, seed):
    from sklearn.metrics import normalized_mutual_info_score
    from sklearn.mixture import GaussianMixture
    gmm = GaussianMixture(10, covariance_type="full", random_state=seed, n_init=10).fit(train)
    pred = gmm.predict(test)
    return accuracy(y_test, pred), normalized_mutual_info_score(y_test, pred)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--codes", required=True, help="codes artifact directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=72)
    ap.add_argument("--bin", default="target/release", help="directory of aeclust binaries")
    ap.add_argument("--gmm", action="store_true", help="also score a GMM on both embeddings")
    args = ap.parse_args()
    train = load_file(os.path.join(args.codes, "train.safetensors"))
    test = load_file(os.path.join(args.codes, "test.safetensors"))
    x, y = train["codes"], train["labels"]
    xt, yt = test["codes"], test["labels"]
    print(f"CPU: {cpu_name()}; {args.threads} threads; train {x.shape}, test {xt.shape}")

    # aeclust first, so that the children's peak RSS is its own.
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "umap")
        t = time.perf_counter()
        done = subprocess.run(
            [os.path.join(args.bin, "aeclust-encode-umap"), "--data", args.codes, "--out", out,
             "--threads", str(args.threads), "--seed", str(args.seed), "--force"],
            capture_output=True, text=True)
        wall = time.perf_counter() - t
        if done.returncode != 0:
            sys.exit(done.stderr)
        rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(done.stdout.strip())
        import json
        details = json.load(open(os.path.join(out, "manifest.json")))["info"]["details"]
        fit_s = sum(details["fit_seconds"].values())
        tr_s = sum(details["transform_seconds"].values())
        a_train = load_file(os.path.join(out, "train.safetensors"))["codes"]
        a_test = load_file(os.path.join(out, "test.safetensors"))["codes"]

    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    import umap
    # Compile numba's kernels on a small fit first, so the timings below are the work.
    umap.UMAP(n_components=10, n_neighbors=20, min_dist=0.0, n_jobs=args.threads).fit(x[:2000]).transform(xt[:200])
    # umap-learn's two modes: unseeded (the layout on every thread, lock-free), and
    # seeded, which it runs on one thread so the result is reproducible, as aeclust's is.
    runs = []
    for seeded in (False, True):
        model = umap.UMAP(n_components=10, n_neighbors=20, min_dist=0.0, metric="euclidean",
                          n_jobs=args.threads, random_state=args.seed if seeded else None)
        t = time.perf_counter()
        u_train = model.fit_transform(x)
        u_fit = time.perf_counter() - t
        t = time.perf_counter()
        u_test = model.transform(xt)
        u_tr = time.perf_counter() - t
        runs.append((seeded, u_fit, u_tr))

    print()
    print(f"| | fit s | transform s | total s |")
    print(f"|---|---|---|---|")
    print(f"| aeclust-encode-umap (seeded, reproducible) | {fit_s:.1f} | {tr_s:.1f} | {fit_s + tr_s:.1f} (process {wall:.1f}, peak RSS {rss_mib:.0f} MiB) |")
    for seeded, u_fit, u_tr in runs:
        mode = "random_state given, reproducible" if seeded else "no random_state, parallel layout"
        print(f"| umap-learn {umap.__version__} ({mode}) | {u_fit:.1f} | {u_tr:.1f} | {u_fit + u_tr:.1f} |")
    for seeded, u_fit, u_tr in runs:
        mode = "seeded" if seeded else "unseeded"
        print(f"ratio aeclust / umap-learn {mode} (total): {(fit_s + tr_s) / (u_fit + u_tr):.2f}")
    if args.gmm:
        for name, (a, b) in [("aeclust", (a_train, a_test)), ("umap-learn", (u_train, u_test))]:
            acc, nmi = score(a, b, yt, args.seed)
            print(f"GMM (scikit-learn, full, n_init 10) on the {name} embedding: test ACC {acc:.3f}, NMI {nmi:.3f}")


if __name__ == "__main__":
    main()
