"""Mixed precision on any device: which dtype a config asks for, and an autocast for it.

CUDA: float16 (with a gradient scaler when training) or bfloat16 where the GPU supports it.
CPU: bfloat16 autocast (oneDNN runs convolutions and matmuls in bf16; fast on CPUs with AVX-512
BF16 or AMX, emulated elsewhere). The matcher and the losses always run in float32.
"""

import contextlib
import logging

import torch

__all__ = ["resolve_dtype", "autocast", "cpu_has_fast_bf16", "cpu_bf16_autocast", "DTYPES"]
logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_has_fast_bf16():
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX), as torch reports it."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


def resolve_dtype(name, device):
    """A precision name ("auto", "float32", "bfloat16", "float16") -> the torch dtype to use on
    `device`. "auto" is the fast choice: on a CPU bfloat16 only where it is native (AVX-512 BF16
    or AMX; elsewhere bf16 is emulated, ~10x slower) and float32 otherwise; on a GPU bfloat16
    where supported, else float16."""
    device = torch.device(device)
    if name == "auto":
        if device.type == "cpu":
            return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    if name not in DTYPES:
        raise ValueError(f"precision must be one of auto, {', '.join(DTYPES)}; got {name!r}")
    dtype = DTYPES[name]
    if device.type == "cpu" and dtype == torch.float16:
        raise ValueError("float16 autocast is for GPUs; on a CPU use bfloat16 (or auto)")
    return dtype


def autocast(device, dtype):
    """``torch.autocast`` for `dtype` on `device`, or nothing for float32."""
    device = torch.device(device)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def cpu_bf16_autocast():
    """True inside ``torch.autocast("cpu", dtype=torch.bfloat16)``."""
    try:
        on, dtype = torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")
    except TypeError:  # torch < 2.4: the device-less names
        on, dtype = torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
    return on and dtype == torch.bfloat16
