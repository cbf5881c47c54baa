"""A restricted unpickler for the pickles this project reads: no file runs code.

Plain ``pickle.load`` lets a file call any function it names. The data files users download
(AVSBench's ``audio_log_mel/*.pkl``) and Detectron2 ``.pkl`` checkpoints are loaded with
:func:`safe_load` instead, which admits only the globals that real files of those kinds contain:

* AVSBench's log-mel pickles are ``pickle.dump`` of a torch tensor: ``torch._utils.
  _rebuild_tensor_v2``, ``collections.OrderedDict`` (its backward hooks) and ``torch.storage.
  _load_from_bytes``, whose bytes are a ``torch.save`` archive. That last one would call
  ``torch.load(..., weights_only=False)``; here it is routed to ``torch.load(...,
  weights_only=True)``, which refuses code as well.
* Detectron2 / Caffe2 model-zoo checkpoints: dicts, lists, numpy arrays, dtypes and scalars
  (``numpy[._]core.multiarray._reconstruct/scalar``, ``numpy.ndarray``, ``numpy.dtype``) and
  ``_codecs.encode`` (how protocol-2 pickles store bytes).

Anything else raises :class:`UnsafePickleError` naming the file and the forbidden global, before
it is called.
"""

import io
import pickle

import torch

__all__ = ["UnsafePickleError", "safe_load", "ALLOWED_GLOBALS"]


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list; nothing it names was called."""


def _load_storage_from_bytes(b):
    """``torch.storage._load_from_bytes`` without running code from the bytes."""
    return torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)


def _numpy_globals():
    import numpy as np

    try:  # NumPy >= 2 (pickles made with NumPy 1 name numpy.core, those made with 2 numpy._core)
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    out = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        for name in ("_reconstruct", "scalar"):
            out[(mod, name)] = getattr(multiarray, name)
    return out


ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("collections", "OrderedDict"): __import__("collections").OrderedDict,
    ("_codecs", "encode"): __import__("codecs").encode,
    **_numpy_globals(),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.source}: refused to unpickle, it names {module}.{name}, which a data "
                "file or checkpoint never needs (it could run code). Only tensors, numpy arrays "
                "and plain containers are loaded"
            ) from None


def safe_load(path, encoding="latin1"):
    """Unpickle `path` through the allow-list (``encoding`` as in ``pickle.load``; latin1 reads
    Python-2 model-zoo files). Raises :class:`UnsafePickleError` for a forbidden global."""
    with open(path, "rb") as f:
        return _RestrictedUnpickler(f, path, encoding=encoding).load()
