"""Other label-free criteria for k, measured on the same 10-d UMAP embeddings the pipeline's
proposal uses (scripts/experiments/k_experiments.sh must have run): prediction strength (Tibshirani &
Walther 2005: the largest k whose strength is at least 0.8 / 0.9), the gap statistic
(Tibshirani et al. 2001, the first k within one standard error of the next), the eigengap
of the k-NN graph's normalised Laplacian, and the number of connected components of the
k-NN graph (20 neighbours; components of at least 1 % of the rows). Prints one line per
folder and seed.

Usage: .venv/bin/python scripts/experiments/k_alternatives.py [--runs artifacts/k]
"""

import argparse
import json
import struct

import numpy as np
from scipy.sparse import csgraph
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.neighbors import kneighbors_graph

FOLDERS = {"fm3": 3, "fm5": 5, "fm10": 10, "digits": 10, "tinted3": 3}
SEEDS = [72, 1, 2]
KS = range(2, 16)


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    m = header["codes"]
    a, b = m["data_offsets"]
    return np.frombuffer(data[a:b], dtype=np.float32).reshape(m["shape"]).astype(np.float64)


def prediction_strength(x, k, rng, repeats=5):
    values = []
    for r in range(repeats):
        idx = rng.permutation(len(x))
        a, b = x[idx[: len(x) // 2]], x[idx[len(x) // 2 :]]
        ka = KMeans(k, n_init=3, random_state=r).fit(a)
        kb = KMeans(k, n_init=3, random_state=r + 100).fit(b)
        predicted, labels = ka.predict(b), kb.labels_
        worst = 1.0
        for c in range(k):
            members = np.where(labels == c)[0]
            n = len(members)
            if n < 2:
                continue
            counts = np.bincount(predicted[members], minlength=k)
            worst = min(worst, (counts * (counts - 1)).sum() / (n * (n - 1)))
        values.append(worst)
    return float(np.mean(values))


def gap_statistic(x, rng, references=5):
    lo, hi = x.min(0), x.max(0)
    rows = []
    for k in KS:
        w = np.log(KMeans(k, n_init=2, random_state=0).fit(x).inertia_)
        ref = [
            np.log(KMeans(k, n_init=1, random_state=b).fit(rng.uniform(lo, hi, x.shape)).inertia_)
            for b in range(references)
        ]
        rows.append((k, np.mean(ref) - w, np.std(ref) * np.sqrt(1 + 1 / references)))
    for (k, gap, _), (_, next_gap, next_se) in zip(rows, rows[1:]):
        if gap >= next_gap - next_se:
            return k
    return rows[-1][0]


def graph(x, neighbours):
    a = kneighbors_graph(x, neighbours, mode="connectivity", include_self=False)
    return ((a + a.T) > 0).astype(float)


def eigengap(x):
    laplacian = csgraph.laplacian(graph(x, 15), normed=True)
    values = np.sort(eigsh(laplacian, k=22, sigma=-1e-3, which="LM", return_eigenvectors=False))
    gaps = np.diff(values)[1:20]  # the gap after the k-th eigenvalue, k = 2..20
    return int(np.argmax(gaps) + 2)


def components(x):
    _, labels = csgraph.connected_components(graph(x, 20), directed=False)
    return int((np.bincount(labels) >= 0.01 * len(x)).sum())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="artifacts/k")
    runs = parser.parse_args().runs
    print("| folder | classes | seed | prediction strength ≥ 0.8 / ≥ 0.9 | gap statistic | eigengap | k-NN components |")
    print("|---|---|---|---|---|---|---|")
    for folder, classes in FOLDERS.items():
        for seed in SEEDS:
            x = load(f"{runs}/{folder}/seed-{seed}/codes-umap/train.safetensors")
            rng = np.random.default_rng(seed)
            strength = [prediction_strength(x, k, rng) for k in KS]
            ps8 = max(k for k, s in zip(KS, strength) if s >= 0.8)
            ps9 = max(k for k, s in zip(KS, strength) if s >= 0.9)
            print(
                f"| {folder} | {classes} | {seed} | {ps8} / {ps9} | {gap_statistic(x, rng)} | "
                f"{eigengap(x)} | {components(x)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
