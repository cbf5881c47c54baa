"""Inference-time BatchNorm folding: eval-mode BatchNorm merged into the convolution before it.

An eval-mode BatchNorm is a per-channel affine map, so ``bn(conv(x))`` equals one convolution with
scaled weights and a shifted bias: the same numbers up to float rounding, one pass over the
feature map fewer (about a sixth of EfficientNet-Lite0's time on a CPU). :class:`FoldedCopy`
keeps a folded copy of a module next to it, checked against the module on the first input it
sees and rebuilt whenever a parameter or buffer of the module changes; the module itself, its
state dict and its checkpoints are untouched.

Under autocast the copy also keeps its convolution and linear weights cast once to the autocast
dtype: autocast casts a weight on every call (frozen weights are never cached), which for the
VGGish's 12288x4096 layer reads and writes more memory than the product itself (bf16 inference
of the R50 config spent 91 ms in the VGGish against 78 ms in float32). Same numbers as autocast.

In float32 on a CPU, the copy runs its large linear layers through oneDNN with the weight
reordered once into the layout oneDNN's kernel reads (what ``torch.compile``'s freezing does):
PyTorch's default float32 path for a few rows times a large matrix (the VGGish's 5 examples per
clip against 12288x4096) ran at a quarter of the speed here (25 against 6 ms). The same numbers
up to float32 rounding, checked on the first input.
"""

import copy
import logging

import torch
from detectron2.layers import Conv2d as D2Conv2d
from detectron2.layers import FrozenBatchNorm2d
from torch import nn

__all__ = ["FoldedCopy", "PackedLinear", "fold_batchnorm"]

logger = logging.getLogger(__name__)
_BN = (nn.BatchNorm2d, nn.SyncBatchNorm, FrozenBatchNorm2d)


def _affine(bn):
    """(scale, shift) ``[C]`` of an eval-mode BatchNorm: bn(x) = x * scale + shift."""
    weight = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    bias = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    scale = weight * (bn.running_var + bn.eps).rsqrt()
    return scale, bias - bn.running_mean * scale


@torch.no_grad()
def _fold_into(conv, bn):
    """Scale ``conv``'s weight and set its bias so that conv(x) == bn(conv_before(x))."""
    scale, shift = _affine(bn)
    w = conv.weight  # [C_out, C_in/groups, k, k], whatever the groups: one scale per output
    channels_last = not w.is_contiguous() and w.is_contiguous(memory_format=torch.channels_last)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    conv.weight = nn.Parameter((w * scale.view(-1, 1, 1, 1)).contiguous(memory_format=fmt), False)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    conv.bias = nn.Parameter(bias * scale + shift, False)


def _after_bn(bn):
    """What stays of a folded norm: timm's BatchNormAct2d keeps its dropout and activation."""
    rest = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]
    rest = [m for m in rest if not isinstance(m, nn.Identity)]
    return nn.Sequential(*rest) if rest else nn.Identity()


def _foldable(conv, bn):
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(bn, _BN)
        and not (isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.training)
        and getattr(bn, "running_var", None) is not None
        and conv.out_channels == bn.num_features
    )


def fold_batchnorm(module):
    """Fold, in place, every eval-mode BatchNorm that directly follows a convolution:

    * Detectron2's ``Conv2d`` with a ``norm`` (ResNet): the norm goes into the conv;
    * a child BatchNorm registered right after a ``Conv2d`` sibling (``nn.Sequential`` stacks such
      as VGGish, timm's EfficientNet / ResNet blocks): the conv absorbs it, the norm becomes its
      activation (or ``Identity``).

    The second rule reads registration order as execution order, which holds for these families;
    :class:`FoldedCopy` checks the result against the unfolded module before using it.
    Returns the number of norms folded.
    """
    n = 0
    for parent in list(module.modules()):
        if isinstance(parent, D2Conv2d) and parent.norm is not None:
            if _foldable(parent, parent.norm):
                _fold_into(parent, parent.norm)
                parent.norm = None
                n += 1
            continue
        prev = None
        for name, child in list(parent.named_children()):
            if prev is not None and not isinstance(prev, D2Conv2d) and _foldable(prev, child):
                _fold_into(prev, child)
                setattr(parent, name, _after_bn(child))
                n += 1
                child = None  # a folded norm folds nothing else
            prev = child
    return n


def _state_key(module):
    """Changes whenever a parameter or buffer of ``module`` is replaced or updated in place."""
    tensors = [*module.parameters(), *module.buffers()]
    return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)


def _autocast_dtype(device_type):
    """The dtype autocast lowers to on ``device_type`` now, or None (off, or float32)."""
    if not torch.is_autocast_enabled(device_type):
        return None
    dtype = torch.get_autocast_dtype(device_type)
    return None if dtype == torch.float32 else dtype


def _shared_copy(module):
    """A copy of ``module``'s structure that shares every parameter and buffer with it."""
    shared = {id(t): t for t in (*module.parameters(), *module.buffers())}
    return copy.deepcopy(module, memo=shared)


def _cast_copy(module, dtype):
    """A copy of ``module`` whose conv and linear weights and biases are ``dtype`` (what autocast
    would cast them to on every call); every other tensor is shared with ``module``."""
    out = _shared_copy(module)
    for m in out.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            for name in ("weight", "bias"):
                t = getattr(m, name)
                if t is not None and t.is_floating_point():
                    setattr(m, name, nn.Parameter(t.detach().to(dtype), False))
    return out


# a linear layer is packed from this many weights up (4 MB in float32: beyond the caches, where
# the layout matters); the VGGish's 12288x4096 and 4096x4096 layers are, the heads' are not
_PACK_MIN_WEIGHTS = 2**20


def _can_pack(device_type):
    """oneDNN's packed linear is there (CPU builds with MKLDNN, as PyPI's wheels are)."""
    return (
        device_type == "cpu"
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


class PackedLinear(nn.Module):
    """A float32 ``nn.Linear`` for CPU inference through oneDNN, its weight reordered once.
    ``[..., in]`` -> ``[..., out]``; no autograd."""

    def __init__(self, linear):
        super().__init__()
        self.out_features = linear.out_features
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), None)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1]).contiguous()
        y = torch.ops.mkldnn._linear_pointwise(flat, self.packed, self.bias, "none", [], "")
        return y.view(*x.shape[:-1], self.out_features)


def _packed_copy(module):
    """A copy of ``module`` whose large float32 linear layers are :class:`PackedLinear`, every
    other tensor shared; None when it has none."""
    big = [
        n
        for n, m in module.named_modules()
        if type(m) is nn.Linear
        and m.weight.dtype == torch.float32
        and m.weight.numel() >= _PACK_MIN_WEIGHTS
    ]
    if not big:
        return None
    out = _shared_copy(module)
    for name in big:
        parent, _, child = name.rpartition(".")
        holder = out.get_submodule(parent)
        setattr(holder, child, PackedLinear(getattr(holder, child)))
    return out


def _close(a, b):
    leaves_a = torch.utils._pytree.tree_leaves(a)
    leaves_b = torch.utils._pytree.tree_leaves(b)
    if len(leaves_a) != len(leaves_b):
        return False
    for x, y in zip(leaves_a, leaves_b):
        if not isinstance(x, torch.Tensor):
            continue
        x, y = x.float(), y.float()
        tol = 1e-3 * (1.0 + float(x.abs().max())) if x.numel() else 0.0
        if x.shape != y.shape or float((x - y).abs().max()) > tol:
            return False
    return True


class FoldedCopy:
    """A lazily built, BatchNorm-folded copy of ``module`` for running it without autograd in
    eval mode. ``__call__(x)`` runs the copy, rebuilding it when the module's weights changed
    (a checkpoint loaded, an optimizer step); on the first input after a rebuild it also runs
    the module and keeps the copy only if both agree (else it logs why and runs the module).
    Under autocast it runs a copy of that (folded copy or module) with its conv and linear
    weights cast once to the autocast dtype, kept per dtype until the weights change; in float32
    on a CPU, a copy whose large linear layers are packed for oneDNN (checked against the unpacked
    one on its first input, like the fold).

    Not an ``nn.Module`` on purpose: the copy is no part of the model's state dict.
    """

    def __init__(self, module, name):
        self.module, self.name = module, name
        self.copy, self.key, self.checked, self.cast = None, None, False, {}

    def __getstate__(self):
        """Copies and pickles keep the module, not the cached copies (rebuilt on demand): oneDNN's
        packed weights have no storage to copy, and a deep copy of the model (export) failed."""
        return {"module": self.module, "name": self.name}

    def __setstate__(self, state):
        self.__init__(state["module"], state["name"])

    def __call__(self, x):
        if torch.compiler.is_compiling():  # torch.export / compile trace the module itself
            return self.module(x)
        key = _state_key(self.module)
        if key != self.key:
            self.key, self.checked, self.cast = key, False, {}
            # the copy shares every tensor; folding gives the folded convs new ones
            self.copy = _shared_copy(self.module).eval()
            if fold_batchnorm(self.copy) == 0:
                self.copy = None
        if self.copy is not None and not self.checked:
            self.checked = True
            if not self._agrees(x):
                logger.warning(
                    f"{self.name}: its BatchNorm-folded copy disagrees with it (a norm that does "
                    "not follow the conv registered before it?); running it unfolded"
                )
                self.copy = None
        base = self.module if self.copy is None else self.copy
        dtype = _autocast_dtype(x.device.type)
        if dtype is None:
            # jit tracing (fvcore's FLOP count) cannot record the packed op
            if x.dtype != torch.float32 or torch.jit.is_tracing() or not _can_pack(x.device.type):
                return base(x)
            if "packed" not in self.cast:
                self.cast["packed"] = self._packed(base, x)
            return (self.cast["packed"] or base)(x)
        if dtype not in self.cast:
            self.cast[dtype] = _cast_copy(base, dtype)
        return self.cast[dtype](x)

    def _packed(self, base, x):
        """``base`` with its large linear layers packed, if it has some, oneDNN can run them and
        the result agrees with ``base`` on ``x``; else None (``base`` runs)."""
        try:
            packed = _packed_copy(base)
            if packed is None or _close(base(x), packed(x)):
                return packed
            why = "disagrees with it"
        except (RuntimeError, NotImplementedError) as e:  # an op this oneDNN build lacks
            why = f"failed ({type(e).__name__}: {str(e)[:80]})"
        logger.warning(f"{self.name}: its oneDNN-packed copy {why}; not used")
        return None

    def _agrees(self, x):
        """The copy against the module on ``x``, in float32 whatever autocast is on: folding is
        exact up to float32 rounding, while under bf16 autocast the two round their different
        weights to 8 bits and drift apart through a deep stack (which is not a wrong fold)."""
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            return _close(self.module(x), self.copy(x))
