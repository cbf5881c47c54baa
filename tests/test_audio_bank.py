"""The audio bank (autr_d2/data/synth): recordings split by content, never on both sides; the
strict pretraining never hears an open-set category; the augmentation keeps a waveform a
waveform; the archives the recordings sit in are read right; the media are what make media
installs. Tests that need the Debian media say so when they skip."""

import io
import os
import re
import struct

import numpy as np
import pytest
import soundfile as sf

from autr_d2.data.audio_augment import build_augmentation
from autr_d2.data.synth import build_asset_bank, real_media_available
from autr_d2.data.synth.bank import content_hash, source_of, split_sources
from autr_d2.data.synth.catalog import CATEGORIES, MEDIA_PACKAGES, PACKAGES
from autr_d2.data.synth.containers import read_cat
from tools.pretrain_audio import split_sounds

from .test_train import ROOT

NEEDS_MEDIA = pytest.mark.skipif(
    not real_media_available(),
    reason="the Debian media packages are not installed (make media, as root or with sudo)",
)


def _assert_disjoint(bank):
    for name, cat in bank.all_categories().items():
        pools = {"train": set(), "unseen": set()}
        sources = {"train": set(), "unseen": set()}
        for x, pool, src in cat.sounds:
            pools[pool].add(content_hash(x))
            sources[pool].add(source_of(src))
        assert not pools["train"] & pools["unseen"], name
        assert not sources["train"] & sources["unseen"], name


def test_procedural_bank_split_is_by_source_and_disjoint():
    bank = build_asset_bank("procedural", 0)
    _assert_disjoint(bank)
    assert bank.audio_only and all(not c.images for c in bank.audio_only.values())


@NEEDS_MEDIA
def test_real_bank_never_puts_a_recording_in_train_and_held_out(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTR_D2_CACHE", str(tmp_path))  # decoded from the packages, then cached
    bank = build_asset_bank("real", 0)
    _assert_disjoint(bank)
    every = bank.all_categories()
    hashes = {}  # a recording (by content) belongs to one category only
    for name, cat in every.items():
        for x, _, src in cat.sounds:
            h = content_hash(x)
            assert hashes.setdefault(h, name) == name, (src, hashes[h], name)
    manifest = bank.manifest()
    assert set(manifest) == set(CATEGORIES)
    for name, m in manifest.items():
        assert all(s["licence"] for s in m["sounds"]), name
        if m["train_sources"] + m["heldout_sources"] >= 5:
            assert m["heldout_sources"] >= 2, name
    assert len(os.listdir(tmp_path)) == 1
    again = build_asset_bank("real", 0)  # from the cache: the same split
    assert again.manifest() == manifest


def test_split_sources_holds_out_a_fifth_at_least_two_and_prefers_documented_recordings():
    rng = np.random.default_rng(0)
    names = [f"r{i}" for i in range(10)]
    assert split_sources(names[:1], {}, rng) == set()
    assert len(split_sources(names[:3], {}, rng)) == 1
    assert len(split_sources(names[:4], {}, rng)) == 1  # 2 of 4 would halve training
    assert len(split_sources(names[:5], {}, rng)) == 2
    grades = {n: "B" for n in names}
    grades["r7"] = grades["r2"] = "A"
    assert split_sources(names, grades, rng) == {"r2", "r7"}


def test_strict_pretraining_never_yields_an_open_set_category():
    bank = build_asset_bank("procedural", 0)
    strict, default = split_sounds(bank, strict=True), split_sounds(bank, strict=False)
    assert not set(strict) & set(bank.openset)
    assert set(bank.openset) <= set(default)  # as AudioSet's VGGish, the default hears them
    assert set(bank.audio_only) <= set(strict)
    for name, (train, held) in default.items():  # never a held-out recording in training
        train_h = {content_hash(x) for x in train}
        assert not train_h & {content_hash(x) for x in held}, name


def test_augmentation_keeps_shape_rate_and_finiteness(tmp_path):
    rng = np.random.default_rng(0)
    ir = (rng.standard_normal(4000) * np.exp(-np.arange(4000) / 600)).astype(np.float32)
    sf.write(tmp_path / "room.wav", ir / np.abs(ir).max(), 16000)
    np.random.seed(0)
    aug = build_augmentation(16000, [str(tmp_path / "room.wav")], strength=1.0)
    assert aug.sample_rate == 16000
    changed = 0
    for x in (
        (0.5 * np.sin(np.arange(15600) * 0.05)).astype(np.float32),
        np.zeros(15600, np.float32),  # silence stays finite (noise at an SNR of nothing)
        rng.uniform(-1, 1, 15600).astype(np.float32),
    ):
        for _ in range(10):
            for y in (aug.source(x), aug.channel(x)):
                assert y.shape == x.shape and y.dtype == np.float32
                assert np.isfinite(y).all()
                changed += not np.allclose(y, x)
    assert changed > 0
    off = build_augmentation(16000, [], strength=0.0)
    x = rng.uniform(-1, 1, 15600).astype(np.float32)
    assert np.array_equal(off.channel(x), x) and np.array_equal(off.source(x), x)


def test_opensfx_cat_reader_on_an_archive_written_here(tmp_path):
    wavs = []
    for k in range(3):
        buf = io.BytesIO()
        sf.write(buf, np.full(100 + k, 0.1 * (k + 1), np.float32), 8000, format="WAV")
        wavs.append((f"sound{k}.wav".encode(), buf.getvalue()))
    table = 8 * len(wavs)
    offsets, blob, pos = [], b"", table
    for name, data in wavs:
        entry = bytes([len(name) + 1]) + name + b"\0" + data
        offsets.append((pos, len(entry)))
        blob += entry
        pos += len(entry)
    head = b"".join(struct.pack("<II", o | (0x80000000 if i == 0 else 0), n)
                    for i, (o, n) in enumerate(offsets))  # fmt: skip
    (tmp_path / "s.cat").write_bytes(head + blob)
    name, data = read_cat(str(tmp_path / "s.cat"), 2)
    assert name == "sound2.wav"
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 8000 and len(x) == 102 and abs(x[0] - 0.3) < 1e-3


@NEEDS_MEDIA
def test_every_catalog_recording_is_where_the_catalog_says():
    for name, spec in CATEGORIES.items():
        for rec in spec.recordings:
            archive = rec.path.split("::")[0]
            assert os.path.isfile(os.path.join(PACKAGES[rec.package].root, archive)), (name, rec)
        for stamp in spec.stamps:
            assert os.path.isfile(f"/usr/share/tuxpaint/stamps/{stamp}.png"), (name, stamp)


def test_make_media_installs_the_catalogs_packages():
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    listed = re.search(r"MEDIA_PKGS := (.*?)\n(?!\t)", makefile, re.S).group(1)
    assert sorted(listed.replace("\\", " ").split()) == MEDIA_PACKAGES


def test_clips_of_one_recording_session_are_one_source(monkeypatch):
    """A game's sheep1..sheep10 are one recording session: held out together or not at all
    (split as ten sources, a held-out 'new recording' was a sibling of a training clip)."""
    from autr_d2.data.synth import bank as bank_mod
    from autr_d2.data.synth.catalog import A, B, Category

    recs = [A("tux", f"solo{i}.ogg") for i in range(4)]
    recs += [A("mg", f"sheep{i}.wav", "test_session") for i in range(6)]
    recs += [B("wes", "bleat.ogg")]
    spec = Category("Sheep", "audio", recordings=recs)

    def fake_decode(data, name):  # a distinct waveform per file, no media needed
        rng = np.random.default_rng(int.from_bytes(name.encode()[-8:], "little"))
        return rng.standard_normal((4000, 1)).astype(np.float32), 16000

    monkeypatch.setattr(bank_mod, "_read_bytes", lambda rec: (rec.path, rec.path))
    monkeypatch.setattr(bank_mod, "_decode", fake_decode)
    family = {f"mg:sheep{i}.wav": "family:test_session" for i in range(6)}
    monkeypatch.setattr(bank_mod, "_FAMILY", family)
    held_family = 0
    for seed in range(12):
        cat = bank_mod._build_category("sheep", spec, seed, {})
        pools = {src: pool for _, pool, src in cat.sounds}
        assert len(pools) == 11  # every clip is still in the bank
        session = {pools[f"mg:sheep{i}.wav"] for i in range(6)}
        assert len(session) == 1, (seed, pools)  # all six on one side
        held_family += session == {"unseen"}
        # 6 sources (4 + the session, grade A; 1 grade B): 2 held out, never the B one
        held = {bank_mod.source_of(s) for s, p in pools.items() if p == "unseen"}
        assert len(held) == 2 and "wes:bleat.ogg" not in held, pools
    assert 0 < held_family < 12  # the session is held out, as one, under some seeds


def test_catalog_families_and_the_goats():
    """A recording session belongs to one category and one package; goats are their own audio
    category (bank 3 drew Tux Paint's goats as sheep: its held-out 'sheep' were goat bleats)."""
    owner = {}
    for name, spec in CATEGORIES.items():
        for rec in spec.recordings:
            if rec.family:
                assert owner.setdefault(rec.family, (name, rec.package)) == (name, rec.package)
                assert source_of(f"{rec.package}:{rec.path}") == f"family:{rec.family}"
            else:
                assert source_of(f"{rec.package}:{rec.path}") == f"{rec.package}:{rec.path}"
    assert all(sum(1 for r in s.recordings if r.family == f) >= 2 for f, (n, _) in owner.items()
               for s in [CATEGORIES[n]])  # fmt: skip
    sheep = CATEGORIES["sheep"]
    assert not any("goat" in x for x in sheep.stamps + [r.path for r in sheep.recordings])
    assert CATEGORIES["goat"].role == "audio" and len(CATEGORIES["goat"].recordings) == 2


def test_encoder_files_name_the_bank_edition():
    """An encoder pretrained on another edition of the bank is never reused for this one: its
    file name and its recorded settings carry catalog.BANK_VERSION."""
    from autr_d2.data.synth.catalog import BANK_VERSION
    from tools.pretrain_audio import _settings, get_parser
    from tools.run_demo import audio_weights

    tag = f"bank{BANK_VERSION}_"
    assert tag in audio_weights(250) and tag in audio_weights(3000, strict=True)
    assert tag in audio_weights(3000, preset="effl0")
    args = get_parser().parse_args(["--output", "x.pth"])
    assert _settings(args, build_asset_bank("procedural", 0))["bank_version"] == BANK_VERSION
