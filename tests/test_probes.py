"""AVS-Synth's probe splits (noise, telephone audio, same-category copies, off-screen sound, MS3
switching): their invariants on a tiny generated tree, and the loader reading them."""

import json

import numpy as np
import pytest
import soundfile as sf

from autr_d2.data.datasets.avsbench import clip_paths, load_avs_clips
from autr_d2.data.synth import SynthConfig, build_asset_bank, compose_clip, generate_avs_synth
from autr_d2.data.synth import clip_rng as _rng
from autr_d2.data.synth.probes import PROBES, SNRS, band_limit, mix_at_snr


@pytest.fixture(scope="module")
def probe_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("probes") / "avs_synth")
    sizes = {
        "s4": {"test": 3, **dict.fromkeys(PROBES["s4"], 3)},
        "ms3": dict.fromkeys(PROBES["ms3"], 3),
    }
    generate_avs_synth(root, ("s4", "ms3"), sizes, SynthConfig(seed=5, media="procedural"),
                       progress=False)  # fmt: skip
    return root


def _infos(root, subset):
    folder = "Single-source/s4_data" if subset == "s4" else "Multi-sources/ms3_data"
    with open(f"{root}/{folder}/clip_info.jsonl") as f:
        return {d["clip_id"]: d for d in map(json.loads, f)}


def test_mix_at_snr_hits_the_asked_ratio():
    rng = np.random.default_rng(0)
    signal, noise = rng.normal(0, 0.3, 80000), rng.normal(0, 1.0, 80000)
    for snr in SNRS:
        mix, measured = mix_at_snr(signal, noise, snr)
        assert abs(measured - snr) < 0.5 and np.abs(mix).max() == pytest.approx(0.9)
    t = np.arange(16000) / 16000
    high, low = np.sin(2 * np.pi * 6000 * t), np.sin(2 * np.pi * 500 * t)
    rms = lambda x: float(np.sqrt(np.mean(x[800:-800] ** 2)))  # noqa: E731  (edges aside)
    assert rms(band_limit(high)) < 0.01 * rms(high)  # above telephone bandwidth: gone
    assert rms(band_limit(low)) > 0.95 * rms(low)  # speech band: kept


def test_noise_probes_are_the_test_clips_with_noise_at_the_asked_snr(probe_root):
    infos = _infos(probe_root, "s4")
    test = load_avs_clips(probe_root, "s4", "test")
    bank = build_asset_bank("procedural", 5)
    for snr in SNRS:
        clips = load_avs_clips(probe_root, "s4", f"test_snr{snr}")
        assert len(clips) == 3
        for i, (d, ref) in enumerate(zip(clips, test)):
            info = infos[d["clip_id"]]
            assert abs(info["snr_db"] - snr) < 0.5, (d["clip_id"], info["snr_db"])
            # the same clip one for one: frames and masks are the test clip's
            for a, b in zip(d["file_names"] + d["sem_seg_file_names"],
                            ref["file_names"] + ref["sem_seg_file_names"]):  # fmt: skip
                assert open(a, "rb").read() == open(b, "rb").read()
            # the written audio is the clean clip plus noise at that ratio
            wav = clip_paths(probe_root, "s4", f"test_snr{snr}", d["clip_id"], d["category"])[3]
            mix = sf.read(wav, dtype="float32")[0]
            clean = compose_clip(bank, "s4", "test", _rng(5, "s4", "test", i)).audio
            scale = float(mix @ clean / (clean @ clean))  # least squares: the noise is not clean
            noise = mix - scale * clean
            measured = 10 * np.log10(np.mean((scale * clean) ** 2) / np.mean(noise**2))
            assert abs(measured - snr) < 1.0, (snr, measured)  # int16 + non-orthogonal noise


def test_newsound_probe_is_the_test_clip_heard_through_held_out_recordings(probe_root):
    """test_newsound separates new recordings from new pictures: the test clip's frames and masks
    byte for byte, its categories, but every sounding object's recording from the held-out pool."""
    infos = _infos(probe_root, "s4")
    bank = build_asset_bank("procedural", 5)
    test = load_avs_clips(probe_root, "s4", "test")
    clips = load_avs_clips(probe_root, "s4", "test_newsound")
    assert len(clips) == 3
    for d, ref in zip(clips, test):
        for a, b in zip(d["file_names"] + d["sem_seg_file_names"],
                        ref["file_names"] + ref["sem_seg_file_names"]):  # fmt: skip
            assert open(a, "rb").read() == open(b, "rb").read()
        new, old = infos[d["clip_id"]], infos[ref["clip_id"]]
        assert new["sounding_categories"] == old["sounding_categories"]
        for o_new, o_old in zip(new["objects"], old["objects"]):
            assert o_new["category"] == o_old["category"]
            if o_new["sounding"]:
                pools = {src: pool for _, pool, src in bank.categories[o_new["category"]].sounds}
                assert pools[o_new["source"]] == "unseen" and pools[o_old["source"]] == "train"
        wav = lambda dd, sp: clip_paths(probe_root, "s4", sp, dd["clip_id"], dd["category"])[3]  # noqa: E731
        assert not np.array_equal(sf.read(wav(d, "test_newsound"))[0], sf.read(wav(ref, "test"))[0])


def test_same_category_offscreen_and_switching_invariants(probe_root):
    infos = _infos(probe_root, "s4")
    for cid, info in infos.items():
        objs = info["objects"]
        if "samecat" in cid:
            cats = [o["category"] for o in objs]
            shared = cats[0]
            assert cats.count(shared) == 2 and cats[2] != shared
            sounding = [o for o in objs if o["sounding"]]
            want = 1 if "samecat_one" in cid else 2
            assert len(sounding) == want and all(o["category"] == shared for o in sounding)
        if "offscreen" in cid:
            heard = [o for o in objs if o["sounding"]]
            assert len(heard) == 1 and heard[0].get("on_screen") is False
            assert heard[0]["category"] not in {o["category"] for o in objs[1:]}
            assert max(info["mask_area"]) == 0  # nothing to segment
    for cid, info in _infos(probe_root, "ms3").items():
        on = np.array([o["on"] for o in info["objects"] if o["sounding"]])  # [objects, seconds]
        assert (on.sum(0) == 1).all()  # exactly one object sounds in every second
        who = on.argmax(0)
        changes = int((who[1:] != who[:-1]).sum())
        period = {"switch1": 1, "switch2": 2, "switchnever": 5}[cid.split("_")[2]]
        assert all(who[s] == who[s - s % period] for s in range(5))
        assert changes == (0 if period == 5 else len(range(period, 5, period)))
        assert min(info["mask_area"]) > 0  # the sounding object is on screen


def test_probe_splits_are_registered_names():
    from detectron2.data import DatasetCatalog

    names = DatasetCatalog.list()
    for subset, probes in PROBES.items():
        for p in probes:
            assert f"avs_synth_{subset}_{p}" in names
