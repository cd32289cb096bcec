"""Keras 3 (JAX backend, CPU) training throughput on the aeclust autoencoder, beside
aeclust-train in scripts/bench_train.sh --vs-keras.

Same model (784-900-480-240-120 + mirror, ReLU, sigmoid output), binary cross-entropy,
Adam (lr 1e-3, Keras defaults), batch 256, the same 54,000 training rows (the train split
less aeclust's 10 % validation share). Samples/s per epoch from a callback around each
epoch's training (no validation pass, as aeclust's figure), the first (compiling) epoch
excluded. Then times `predict` of the 240-d codes (the third layer's output) of all
70,000 images (train and test, batch 1024 as aeclust-encode), median of 3 calls after a
compiling one. Also prints numpy's f32 matmul rate on the model's own shapes.

Usage: python scripts/bench_keras.py DATASET_ARTIFACT_DIR [--epochs N]
Threads: set by the caller (XLA_FLAGS / taskset); bench_train.sh does.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402


def matmul_rates(repeats=20):
    """GFLOP/s of numpy's f32 matmul on the forward and backward shapes of layer 1."""
    rng = np.random.default_rng(0)
    out = {}
    for m, k, n in [(256, 784, 900), (256, 900, 480), (900, 256, 784), (2048, 2048, 2048)]:
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        a @ b
        times = []
        for _ in range(repeats if m < 2048 else 3):
            t = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t)
        out[f"{m}x{k}x{n}"] = 2 * m * k * n / statistics.median(times) / 1e9
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dataset")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args()

    import keras

    train = load_file(os.path.join(args.dataset, "train.safetensors"))
    x = train["images"].reshape(len(train["images"]), -1).astype(np.float32) / 255.0
    x = x[: int(round(len(x) * 0.9))]

    widths = [900, 480, 240, 120, 240, 480, 900]
    model = keras.Sequential(
        [keras.Input((x.shape[1],))]
        + [keras.layers.Dense(w, activation="relu") for w in widths]
        + [keras.layers.Dense(x.shape[1], activation="sigmoid")]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t)

    timer = Timer()
    hist = model.fit(x, x, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
    speeds = [len(x) / s for s in timer.seconds]
    steady = speeds[1:] if len(speeds) > 1 else speeds
    print(f"keras {keras.__version__} backend {keras.backend.backend()}")
    print("keras epochs samples/s: " + " ".join(f"{s:.0f}" for s in speeds) + f" (loss {hist.history['loss'][-1]:.4f})")
    print(f"keras median samples/s (first, compiling epoch excluded): {statistics.median(steady):.0f}")
    test = load_file(os.path.join(args.dataset, "test.safetensors"))["images"]
    everything = np.concatenate([train["images"], test]).reshape(-1, x.shape[1]).astype(np.float32) / 255.0
    encoder = keras.Model(model.inputs, model.layers[2].output)
    times = []
    for _ in range(4):
        t = time.perf_counter()
        codes = encoder.predict(everything, batch_size=1024, verbose=0)
        times.append(time.perf_counter() - t)
    print(f"keras predict {len(everything)} codes of {codes.shape[1]}: {statistics.median(times[1:]):.2f} s (median of 3 after a compiling call)")
    for shape, rate in matmul_rates().items():
        print(f"numpy f32 matmul {shape}: {rate:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
