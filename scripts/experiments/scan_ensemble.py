"""Two questions about SCAN's ceiling on own data (issue 34), answered from artifacts.

  purity CODES...      share of every train image's 20 nearest neighbours (Euclidean)
                       that have its label, for each codes artifact, and for the
                       neighbours the artifacts agree on (in m of them, m = 1..n; and the
                       20 most voted for, ties by mean rank)
  hog DATASET          the same share for HOG features of the train images (4x4 and 7x7
                       cells, 2x2 blocks, 9 orientations; scikit-image)
  hidden SCAN DATASET  the same share in a SCAN network's hidden layer (and L2-scaled)
  vote CLUSTERING...   accuracy of each SCAN clustering and of their majority vote
                       (every clustering's clusters matched to the first's by the
                       Hungarian method on their co-occurrences; labels only to score)
  overcluster CLUSTERING CODES [K]
                       a SCAN clustering with more clusters than classes (aeclust-
                       cluster-scan --k 20): the best any merge of its clusters could
                       score (each cluster given its majority label), and K (10) groups
                       merged without labels from CODES' 20-NN graph on the train split
                       (spectral clustering of the clusters' edge counts over the square
                       root of their sizes; greedy merging of the pair with most edges
                       per pair of members)

  .venv/bin/python scripts/experiments/scan_ensemble.py purity artifacts/fm-ae/seed-{72,1,2,3,4}/codes
  .venv/bin/python scripts/experiments/scan_ensemble.py hog artifacts/fm-ae/dataset
  .venv/bin/python scripts/experiments/scan_ensemble.py hidden artifacts/fm-ae/seed-72/scan-n2d artifacts/fm-ae/dataset
  .venv/bin/python scripts/experiments/scan_ensemble.py vote artifacts/fm-ae/seed-{72,1,2,3,4}/scan
  .venv/bin/python scripts/experiments/scan_ensemble.py overcluster /tmp/k20 artifacts/seed-72/codes-n2d

A study, not the product: labels are read to score, never to fit.
"""

import sys

import numpy as np
from safetensors.numpy import load_file
from scipy.optimize import linear_sum_assignment
from sklearn.neighbors import NearestNeighbors

K = 20


def knn(x):
    _, idx = NearestNeighbors(n_neighbors=K + 1, n_jobs=2).fit(x).kneighbors(x)
    return idx[:, 1:]


def share(idx, y):
    return float((y[idx] == y[:, None]).mean())


def purity(dirs):
    lists = []
    for d in dirs:
        t = load_file(f"{d}/train.safetensors")
        y = t["labels"].astype(int)
        lists.append(knn(t["codes"]))
        print(f"{d}: {share(lists[-1], y):.4f} of 20 neighbours share the label")
    L = np.stack(lists)  # artifacts × rows × K
    n = len(dirs)
    rank = np.tile(np.arange(K), n)
    counted = {m: [0, 0] for m in range(1, n + 1)}
    top = np.zeros((L.shape[1], K), dtype=np.int64)
    for i in range(L.shape[1]):
        u, inv, cnt = np.unique(L[:, i, :].reshape(-1), return_inverse=True, return_counts=True)
        for m in counted:
            sel = u[cnt >= m]
            counted[m][0] += len(sel)
            counted[m][1] += int((y[sel] == y[i]).sum())
        ranks = np.zeros(len(u))
        np.add.at(ranks, inv, rank)
        top[i] = u[np.argsort(-(cnt * 1000 - ranks / cnt), kind="stable")[:K]]
    rows = L.shape[1]
    for m, (tot, right) in counted.items():
        print(f"in >= {m} of {n}: {tot / rows:.1f} neighbours a row, {right / tot:.4f} share the label")
    print(f"the 20 most voted for: {share(top, y):.4f} share the label")


def train_images(dataset):
    d = load_file(f"{dataset}/train.safetensors")
    return d["images"], d["labels"].astype(int)


def hog_features(args):
    from skimage.feature import hog

    images, y = train_images(args[0])
    for cell in [4, 7]:
        f = np.stack([hog(x, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2)) for x in images])
        print(f"HOG, {cell}x{cell} cells ({f.shape[1]} dims): {share(knn(f.astype(np.float32)), y):.4f} share the label")


def hidden(args):
    m = load_file(f"{args[0]}/model.safetensors")
    images, y = train_images(args[1])
    x = images.reshape(len(images), -1).astype(np.float32) / 255
    h = np.maximum(((x - m["input.mean"]) / m["input.scale"]) @ m["trunk.weight"].T + m["trunk.bias"], 0)
    print(f"{args[0]} hidden layer: {share(knn(h), y):.4f} share the label")
    h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    print(f"  L2-scaled: {share(knn(h), y):.4f}")


def accuracy(c, y):
    k = max(c.max(), y.max()) + 1
    table = np.zeros((k, k))
    np.add.at(table, (c, y), 1)
    r, cc = linear_sum_assignment(-table)
    return table[r, cc].sum() / len(y)


def vote(dirs):
    runs = [load_file(f"{d}/assignments.safetensors") for d in dirs]
    for split in ["train", "test"]:
        y = runs[0][f"{split}_labels"].astype(int)
        cs = [r[f"{split}_assignments"].astype(int) for r in runs]
        k = max(c.max() for c in cs) + 1
        votes = np.zeros((len(y), k))
        for c in cs:
            table = np.zeros((k, k))
            np.add.at(table, (c, cs[0]), 1)
            r, cc = linear_sum_assignment(-table)
            to_first = np.zeros(k, dtype=int)
            to_first[r] = cc
            votes[np.arange(len(y)), to_first[c]] += 1
        each = [accuracy(c, y) for c in cs]
        unanimous = votes.max(1) == len(cs)
        majority = votes.argmax(1)
        print(
            f"{split}: each {' '.join(f'{a:.4f}' for a in each)} (mean {np.mean(each):.4f}),"
            f" vote {accuracy(majority, y):.4f}; unanimous on {unanimous.mean():.3f},"
            f" {accuracy(majority[unanimous], y[unanimous]):.4f} right there"
        )


def overcluster(args):
    from sklearn.cluster import SpectralClustering

    run = load_file(f"{args[0]}/assignments.safetensors")
    groups = int(args[2]) if len(args) > 2 else 10
    c = {s: run[f"{s}_assignments"].astype(int) for s in ["train", "test"]}
    y = {s: run[f"{s}_labels"].astype(int) for s in ["train", "test"]}
    k = max(c["train"].max(), c["test"].max()) + 1
    for s in ["train", "test"]:
        table = np.zeros((k, y[s].max() + 1))
        np.add.at(table, (c[s], y[s]), 1)
        print(f"{s}: {k} clusters, each given its majority label: {table.max(1).sum() / len(y[s]):.4f}")
    nn = knn(load_file(f"{args[1]}/train.safetensors")["codes"])
    edges = np.zeros((k, k))
    np.add.at(edges, (np.repeat(c["train"], K), c["train"][nn.ravel()]), 1)
    edges += edges.T
    np.fill_diagonal(edges, 0)
    size = np.bincount(c["train"], minlength=k).astype(float)
    merges = {
        "spectral": SpectralClustering(groups, affinity="precomputed", random_state=0).fit_predict(
            edges / np.sqrt(np.outer(size, size))
        )
    }
    label, alive = np.arange(k), list(range(k))
    while len(alive) > groups:
        _, i, j = max((edges[i, j] / (size[i] * size[j]), i, j) for i in alive for j in alive if i < j)
        edges[i] += edges[j]
        edges[:, i] += edges[:, j]
        edges[i, i], size[i] = 0, size[i] + size[j]
        alive.remove(j)
        label[label == j] = i
    merges["greedy"] = np.unique(label, return_inverse=True)[1]
    for name, m in merges.items():
        print(f"{name} merge to {groups}: " + ", ".join(f"{s} {accuracy(m[c[s]], y[s]):.4f}" for s in ["train", "test"]))


if __name__ == "__main__":
    commands = {"purity": purity, "hog": hog_features, "hidden": hidden, "vote": vote, "overcluster": overcluster}
    commands[sys.argv[1]](sys.argv[2:])
