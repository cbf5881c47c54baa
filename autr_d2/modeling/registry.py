"""Registries of AuTR's exchangeable heads, Detectron2-style: register a class, name it in a config.

Each registered class is built as ``cls(cfg, *args)``: a ``@configurable`` ``__init__`` that takes
plain arguments, with a ``from_config(cls, cfg, *args)`` that reads them from the config (as
Detectron2's ROI heads). A new head is one decorator and one config line::

    @MASK_HEAD_REGISTRY.register()
    class MyMaskHead(nn.Module):
        ...

    MODEL.AUTR.MASK_HEAD MyMaskHead

The built-in heads also answer to the short names the configs have always used ("dynamic",
"fpn", "linear", ...).
"""

from detectron2.utils.registry import Registry

__all__ = ["MASK_HEAD_REGISTRY", "PIXEL_DECODER_REGISTRY", "SOUND_HEAD_REGISTRY", "lookup"]

MASK_HEAD_REGISTRY = Registry("AUTR_MASK_HEAD")
MASK_HEAD_REGISTRY.__doc__ = """``MODEL.AUTR.MASK_HEAD``: query embeddings ``[N, Q, D]`` and
stride-4 mask features ``[N, M, H, W]`` -> mask logits ``[N, Q, H, W]``; built as ``cls(cfg)``."""

PIXEL_DECODER_REGISTRY = Registry("AUTR_PIXEL_DECODER")
PIXEL_DECODER_REGISTRY.__doc__ = """``MODEL.AUTR.PIXEL_DECODER``: {name: map} -> (mask features
``[N, MASK_DIM, H_0, W_0]``, {name: refined map}); built as ``cls(cfg, input_shape)`` with the
backbone's ``output_shape()``. Its class attribute ``fuses_finest`` says whether the finest map
goes through the audio-visual encoder first."""

SOUND_HEAD_REGISTRY = Registry("AUTR_SOUND_HEAD")
SOUND_HEAD_REGISTRY.__doc__ = """``MODEL.AUTR.SOUND_HEAD``: query embeddings ``[N, Q, D]`` and the
frame's audio embedding ``[N, D]`` -> sounding logits ``[N, Q]``; built as ``cls(cfg)``."""


def lookup(registry, key, name, short_names):
    """The class registered as `name` (or as the built-in short name `name`) in `registry`; an
    unknown name is an error naming the config key and every choice."""
    try:
        return registry.get(short_names.get(name, name))
    except KeyError:
        own = [n for n, _ in registry if n not in short_names.values()]
        choices = sorted(short_names) + sorted(own)
        raise ValueError(
            f"MODEL.AUTR.{key} {name!r} is not registered in {registry._name}: choose one of "
            f"{', '.join(choices)}, or register a class (autr_d2/modeling/registry.py)"
        ) from None
