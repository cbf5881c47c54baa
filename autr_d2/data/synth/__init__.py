"""AVS-Synth, the offline benchmark, and the audio bank its encoder is pretrained on.

One concept per module, in data-flow order:

* ``containers``: readers for the archives some recordings sit in (GCompris .rcc, OpenSFX .cat);
* ``catalog``: the categories (AudioSet names, roles, cut-outs, recordings and their packages);
* ``bank``: the decoded assets, deduplicated and split by source into train / held-out, cached;
  ``procedural``: shapes and tones in their place where the media are not installed;
* ``composition``: one clip (objects on a background, only the audio says which sound);
* ``probes``: the probe splits (noise, telephone, same-category copies, off-screen, switching);
* ``tree``: the benchmark on disk in AVSBench's layout; ``semantic``: the AVSBench-semantic one.
"""

from .bank import SAMPLE_RATE, AssetBank, Category, build_asset_bank, real_media_available
from .composition import SPLITS, T_FRAMES, Clip, SynthConfig, clip_rng, compose_clip
from .probes import PROBES, compose_probe
from .semantic import SEMANTIC_SIZES, SEMANTIC_SPLITS, generate_avs_synth_semantic
from .tree import (
    DEFAULT_SIZES,
    SETTINGS_RECORD,
    TOOL,
    add_splits,
    categories_of,
    ensure_avs_synth,
    generate_avs_synth,
    splits_of,
    start_tree,
)

__all__ = [
    "DEFAULT_SIZES",
    "add_splits",
    "PROBES",
    "SAMPLE_RATE",
    "SEMANTIC_SIZES",
    "SEMANTIC_SPLITS",
    "SETTINGS_RECORD",
    "SPLITS",
    "TOOL",
    "T_FRAMES",
    "AssetBank",
    "Category",
    "Clip",
    "SynthConfig",
    "build_asset_bank",
    "categories_of",
    "clip_rng",
    "compose_clip",
    "compose_probe",
    "ensure_avs_synth",
    "generate_avs_synth",
    "generate_avs_synth_semantic",
    "real_media_available",
    "splits_of",
    "start_tree",
]
