"""Peers re-implemented on the project's backbones, audio encoder, mapper, evaluators and trainer,
so that AuTR is compared with them on the same data and budget: TPAVI (AVSBench, ECCV 2022)."""

from .tpavi import TPAVI

__all__ = ["TPAVI"]
