"""What limits SCAN on own data (issue 34): its neighbours, or what it does with them?

  patches DATASET OUT          single-layer patch features of Coates & Ng (2011), own data
                               only: 7x7 patches, brightness and contrast normalised, ZCA-
                               whitened, a 256-word K-Means dictionary from 400,000 train
                               patches, triangle activation, sum-pooled over 4x4 regions,
                               square root, unit length (4,096 dims); OUT/train.npy,
                               OUT/test.npy, and a 256-component PCA of them (pca-*.npy)
  codes DATASET FEATURES OUT   FEATURES/{,pca-}train.npy etc. as an aeclust codes artifact
                               (manifest written here, outputs hashed) for
                               aeclust-cluster-scan --features/--neighbours
  wrap DATASET DIR NAME        DIR/{train,test}.safetensors, as the study examples write
                               them (simclr_conv, contrastive_mlp), as a codes artifact
  nearest DATASET CODES OUT.u32 [M]
                               CODES' M-NN (20 by default) of the train rows as a list,
                               what aeclust-cluster-scan --neighbours CODES draws from
  lists DATASET CODES FEATURES OUT
                               neighbour lists (raw u32, rows x m) for the example
                               scan_neighbour_list, each with the share of its entries
                               that have the row's label: CODES' 20-NN (n2d20), 100-NN
                               (n2d100), a 2-step walk on the 20-NN graph (walk2), the
                               patch features' 20-NN (patch20), the neighbours found in
                               both CODES' and the patch features' 40-NN (agree40); and
                               oracles that READ THE LABELS to build the list (a
                               diagnostic, never a result): CODES' 40-NN of the row's own
                               class (oracle-local), of its 200-NN (oracle200), and 20
                               random images of its class (oracle-random)

  .venv/bin/python scripts/experiments/scan_neighbours.py patches artifacts/fm-ae/dataset /tmp/patches
  .venv/bin/python scripts/experiments/scan_neighbours.py codes artifacts/fm-ae/dataset /tmp/patches /tmp/patches/codes
  .venv/bin/python scripts/experiments/scan_neighbours.py lists artifacts/fm-ae/dataset artifacts/fm-ae/seed-72/codes-n2d /tmp/patches /tmp/lists
  cargo run --release -p aeclust-cluster-scan --example scan_neighbour_list -- artifacts/fm-ae/dataset /tmp/lists/agree40.u32 20 72

A study, not the product: labels are read to score, and by the oracles to build lists.
"""

import hashlib
import json
import os
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load_file, save_file
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

P, WORDS, POOL, SAMPLES = 7, 256, 4, 400_000


def split(dataset, name):
    return load_file(f"{dataset}/{name}.safetensors")


def normalise(p):
    p = p - p.mean(1, keepdims=True)
    return p / np.sqrt(p.var(1, keepdims=True) + 0.01)


def patches(dataset, out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(72)
    train = split(dataset, "train")["images"].astype(np.float32) / 255.0
    test = split(dataset, "test")["images"].astype(np.float32) / 255.0
    started = time.time()
    rows = rng.integers(0, len(train), SAMPLES)
    at = rng.integers(0, 28 - P + 1, (SAMPLES, 2))
    sample = normalise(np.stack([train[i, a:a + P, b:b + P].ravel() for i, (a, b) in zip(rows, at)]))
    mean = sample.mean(0)
    d, v = np.linalg.eigh(np.cov(sample, rowvar=False))
    zca = (v @ np.diag(1 / np.sqrt(d + 0.1)) @ v.T).astype(np.float32)
    words = MiniBatchKMeans(WORDS, random_state=0, batch_size=4096, n_init=3)
    words = words.fit((sample - mean) @ zca).cluster_centers_.astype(np.float32)
    norms = (words**2).sum(1)
    side = 28 - P + 1
    edges = np.linspace(0, side, POOL + 1).astype(int)

    def features(x):
        f = np.zeros((len(x), POOL * POOL * WORDS), np.float32)
        for s in range(0, len(x), 500):
            xb = x[s:s + 500]
            pv = sliding_window_view(xb, (P, P), axis=(1, 2)).reshape(-1, P * P)
            pv = (normalise(pv) - mean).astype(np.float32) @ zca
            z = np.sqrt(np.maximum(0, (pv**2).sum(1, keepdims=True) - 2 * pv @ words.T + norms))
            a = np.maximum(0, z.mean(1, keepdims=True) - z).reshape(len(xb), side, side, WORDS)
            f[s:s + 500] = np.concatenate(
                [a[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].sum((1, 2))
                 for i in range(POOL) for j in range(POOL)], 1)
        f = np.sqrt(f)
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    ftrain, ftest = features(train), features(test)
    np.save(f"{out}/train.npy", ftrain)
    np.save(f"{out}/test.npy", ftest)
    pca = PCA(256, random_state=0).fit(ftrain)
    np.save(f"{out}/pca-train.npy", pca.transform(ftrain).astype(np.float32))
    np.save(f"{out}/pca-test.npy", pca.transform(ftest).astype(np.float32))
    print(f"{ftrain.shape[1]} features, {time.time() - started:.0f} s; PCA 256 keeps "
          f"{pca.explained_variance_ratio_.sum():.3f} of the variance")


def codes(dataset, features, out):
    """Writes features as a codes artifact of `dataset` (a study's manifest: `producer`
    says so; aeclust's stages check the dataset key and every output's hash)."""
    for prefix, name in [("", "patches"), ("pca-", "patches-pca256")]:
        target = f"{out}/{name}"
        os.makedirs(target, exist_ok=True)
        for s in ["train", "test"]:
            f = np.load(f"{features}/{prefix}{s}.npy").astype(np.float32)
            save_file({"codes": np.ascontiguousarray(f), "labels": split(dataset, s)["labels"]},
                      f"{target}/{s}.safetensors")
        manifest(dataset, target, name)


def wrap(dataset, target, name):
    """Gives TARGET/{train,test}.safetensors (`codes`, `labels`, as the study examples
    write them) a codes artifact's manifest, encoder NAME."""
    manifest(dataset, target, name)


def manifest(dataset, target, name):
    dm = json.load(open(f"{dataset}/manifest.json"))
    outputs = []
    for s in ["train", "test"]:
        path = f"{target}/{s}.safetensors"
        outputs.append({"path": f"{s}.safetensors", "bytes": os.path.getsize(path),
                        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest()})
    dim = int(load_file(f"{target}/test.safetensors")["codes"].shape[1])
    m = {
        "stage": "codes", "schema_version": dm["schema_version"], "tool_version": dm["tool_version"],
        "producer": "scripts/experiments/scan_neighbours.py", "code_fingerprint": "study",
        "cache_key": hashlib.sha256((name + outputs[0]["sha256"]).encode()).hexdigest(),
        "params": {"encoder": name}, "inputs": [], "outputs": outputs,
        "wall_seconds": 0.0, "created_unix": int(time.time()),
        "environment": {"os": "linux", "arch": "x86_64", "threads": 2, "device": "Cpu"},
        "info": {
            "classes": dm["info"].get("classes"),
            "counts": {"train": len(split(dataset, "train")["labels"]), "test": len(split(dataset, "test")["labels"])},
            "dataset": {"absolute_hint": os.path.abspath(dataset), "cache_key": dm["cache_key"],
                        "path": os.path.relpath(os.path.abspath(dataset), os.path.abspath(target))},
            "details": {}, "dim": dim, "encoder": name, "model": None,
            "principal_axes": False, "recognised": None, "source": None,
        },
    }
    json.dump(m, open(f"{target}/manifest.json", "w"), indent=2)
    print(target)


def knn(x, k):
    _, idx = NearestNeighbors(n_neighbors=k + 1, n_jobs=2).fit(x).kneighbors(x)
    return idx[:, 1:].astype(np.uint32)


def share(rows, y):
    return (y[rows] == y[:, None]).mean()


def nearest(dataset, codes_dir, out, m="20"):
    y = split(dataset, "train")["labels"].astype(int)
    rows = knn(load_file(f"{codes_dir}/train.safetensors")["codes"], int(m))
    rows.tofile(out)
    print(f"{out}: {rows.shape[1]} a row, {share(rows, y):.4f} share the label")


def lists(dataset, codes_dir, features, out):
    os.makedirs(out, exist_ok=True)
    y = split(dataset, "train")["labels"].astype(int)
    rng = np.random.default_rng(0)
    a = knn(load_file(f"{codes_dir}/train.safetensors")["codes"], 200)
    b = knn(np.load(f"{features}/pca-train.npy"), 40)
    n = len(y)

    def write(name, rows):
        rows = np.ascontiguousarray(rows, dtype=np.uint32)
        rows.tofile(f"{out}/{name}.u32")
        print(f"{name}: {rows.shape[1]} a row, {share(rows, y):.4f} share the label")

    def cycled(choose):
        rows = np.zeros((n, 20), np.uint32)
        for i in range(n):
            s = choose(i)
            rows[i] = [s[t % len(s)] for t in range(20)]
        return rows

    write("n2d20", a[:, :20])
    write("n2d100", a[:, :100])
    walk = np.stack([a[a[np.arange(n), rng.integers(0, 20, n)], rng.integers(0, 20, n)]
                     for _ in range(40)], 1)
    write("walk2", walk)
    write("patch20", b[:, :20])

    def agreed(i):
        rank = {j: r for r, j in enumerate(a[i, :40])}
        both = [j for _, j in sorted((rank[j] + r, j) for r, j in enumerate(b[i]) if j in rank)]
        return both[:20] or list(a[i, :5]) + list(b[i, :5])

    write("agree40", cycled(agreed))
    write("oracle-local", cycled(lambda i: [j for j in a[i, :40] if y[j] == y[i]] or list(a[i, :1])))
    write("oracle200", np.stack([rng.choice(a[i][y[a[i]] == y[i]] if (y[a[i]] == y[i]).any() else a[i, :1], 20)
                                 for i in range(n)]))
    random = np.zeros((n, 20), np.uint32)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        random[members] = rng.choice(members, (len(members), 20))
    write("oracle-random", random)


if __name__ == "__main__":
    {"patches": patches, "codes": codes, "wrap": wrap, "nearest": nearest, "lists": lists}[sys.argv[1]](*sys.argv[2:])
