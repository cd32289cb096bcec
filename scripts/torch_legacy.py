"""Reads a legacy (pre-1.6, not zip) PyTorch checkpoint into numpy arrays, without torch:
the independent reader the pretrained-encoder scripts check aeclust's against."""
import pickle
import struct

import numpy as np

_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "DoubleStorage": np.float64}


class _Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            import collections
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"refusing {module}.{name}")

    def persistent_load(self, pid):
        tag, dtype, key, _location, numel = pid[:5]
        assert tag == "storage"
        return _Storage(_DTYPES[dtype], key, numel)


def load(path):
    """The state dict of `path` as {name: numpy array}."""
    with open(path, "rb") as f:
        magic = pickle.load(f)
        assert magic == 0x1950A86A20F9469CFC6C, "not a legacy torch checkpoint"
        assert pickle.load(f) == 1001
        pickle.load(f)  # sys_info
        state = _Unpickler(f).load()
        keys = pickle.load(f)
        raw = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dtype = next(v[1].dtype for v in state.values() if v[1].key == key)
            raw[key] = np.frombuffer(f.read(numel * np.dtype(dtype).itemsize), dtype=dtype)
        assert not f.read(1), "bytes after the last storage"
    out = {}
    for name, (_, storage, offset, size, stride) in state.items():
        item = raw[storage.key].itemsize
        out[name] = np.lib.stride_tricks.as_strided(
            raw[storage.key][offset:], shape=size, strides=tuple(s * item for s in stride)
        ).astype(np.float32)
    return out
