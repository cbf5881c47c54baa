"""Which machine computed a figure: the CPU (its model, vector extension and whether bf16 is native)
or the GPU, for the records beside timings and trained runs."""

import os
import platform

import torch

from .precision import cpu_has_fast_bf16

__all__ = ["describe_machine"]


def _cpu_model():
    """The CPU's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_machine(device="cpu"):
    """One line naming the hardware on `device`, e.g. "AMD EPYC (AVX512, native bf16), 2
    threads" or "NVIDIA H100 80GB HBM3" (a CPU's figures differ by an order of magnitude between
    emulated and native bf16, so the line says which)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        vector = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        vector = "unknown vector extension"
    bf16 = "native bf16" if cpu_has_fast_bf16() else "bf16 emulated"
    threads = f"{torch.get_num_threads()} threads of {os.cpu_count()}"
    return f"{_cpu_model()} ({vector}, {bf16}), {threads}"
