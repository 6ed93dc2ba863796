"""Where bfloat16 is fast: GPUs with bf16 support, CPUs with AMX or AVX512-BF16.

Elsewhere torch emulates bfloat16 on the CPU, and training or sampling in it runs many times
slower than float32 (50-100x reported on AVX2-only CPUs). :func:`native_bf16` says which case a
device is in; :func:`warn_if_emulated_bf16` warns once per process when bf16 is asked for
where it is emulated.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch

CPU_FEATURES = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic
_warned = False


def native_bf16(device: torch.device | str | None = None) -> bool:
    """True when bfloat16 runs natively on ``device`` (default: the CPU).

    CUDA: the GPU supports bf16 (Ampere and later). CPU: it has AMX or AVX512-BF16.
    """
    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(_cpu_bf16_features())
    return False


@functools.cache
def _cpu_bf16_features() -> tuple[str, ...]:
    """The native-bf16 features of this CPU, from torch's cpuinfo, else /proc/cpuinfo."""
    probes = {"amx_bf16": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}
    if all(hasattr(torch.cpu, probe) for probe in probes.values()):
        return tuple(name for name, probe in probes.items() if getattr(torch.cpu, probe)())
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return ()
    return tuple(name for name in CPU_FEATURES if name in flags)


def warn_if_emulated_bf16(device: torch.device | str | None, what: str) -> None:
    """Warn (once per process) that ``what`` runs in bfloat16 on a CPU without native bf16."""
    global _warned
    device = torch.device(device if device is not None else "cpu")
    if _warned or device.type != "cpu" or native_bf16(device):
        return
    _warned = True
    warnings.warn(
        f"{what} in bfloat16, but this CPU has no AMX or AVX512-BF16: bfloat16 is emulated and "
        "50-100x slower; use float32",
        UserWarning,
        stacklevel=3,
    )
