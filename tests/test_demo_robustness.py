"""The demo on what users' files really are: --overwrite next to files of their own, Ctrl-C, a
truncated file, a 10.0 s file's last second, every channel layout against its mono twin, codec
tails after a cut to silence, and where the time goes.

Videos are written with PyAV; the fake model of test_demo_video says "everything sounds" and
records the log-mel it receives, so two inputs can be compared by what the model hears.
"""

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from autr_d2.utils.audio_timeline import (
    MIN_SOUND_S,
    SILENCE_DBFS,
    AudioTimeline,
    downmix,
    sounding_seconds,
)
from autr_d2.utils.outputs import MARKER, OutputDirError, OutputFolder
from autr_d2.utils.video_io import open_video
from tools import demo

from .test_demo_video import SR, make_video, run_demo, tones
from .test_train import ROOT


def _video(path, seconds, fps=5, audio=None, **kw):
    times = [i / fps for i in range(round(seconds * fps))]
    audio = tones(seconds)[None] if audio is None else audio
    return make_video(path, times, audio, **kw)


# ------------------------------------------------------------- 1. nothing of the user's is lost
def test_overwrite_removes_only_what_the_demo_wrote(tmp_path, fake):
    """Files a user added inside the output's masks/ (and a folder of theirs there) survive
    --overwrite; a mask the user edited in place is theirs now: kept, and the rerun stops
    before writing rather than replace it."""
    video = tmp_path / "in.mp4"
    _video(video, 2)
    out = tmp_path / "out"
    run_demo("--input", video, "--output", out)
    (out / "masks" / "my_corrected_000003.png").write_bytes(b"my work")
    (out / "masks" / "mine").mkdir()
    (out / "masks" / "mine" / "k.txt").write_text("notes")
    (out / "notes.txt").write_text("mine too")
    run_demo("--input", video, "--output", out, "--overwrite")
    assert (out / "masks" / "my_corrected_000003.png").read_bytes() == b"my work"
    assert (out / "masks" / "mine" / "k.txt").read_text() == "notes"
    assert (out / "notes.txt").read_text() == "mine too"
    assert (out / "overlay.mp4").is_file() and (out / "masks" / "000000.png").is_file()
    # a file the demo wrote and the user then changed
    (out / "masks" / "000000.png").write_bytes(b"corrected by hand")
    with pytest.raises(SystemExit, match="masks/000000.png"):
        run_demo("--input", video, "--output", out, "--overwrite")
    assert (out / "masks" / "000000.png").read_bytes() == b"corrected by hand"
    assert (out / "masks" / "my_corrected_000003.png").read_bytes() == b"my work"


def test_output_folder_records_and_removes_only_its_files(tmp_path):
    out = tmp_path / "o"
    f = OutputFolder.open(str(out), "tools/x.py")
    f.write_bytes("a/b.txt", b"1")
    f.write_bytes("c.txt", b"2")
    f.finish()
    (out / "a" / "user.txt").write_text("u")
    with pytest.raises(OutputDirError, match="--overwrite"):
        OutputFolder.open(str(out), "tools/x.py")
    with pytest.raises(OutputDirError, match="not an output folder of tools/y.py"):
        OutputFolder.open(str(out), "tools/y.py", overwrite=True)
    g = OutputFolder.open(str(out), "tools/x.py", overwrite=True)
    assert sorted(os.listdir(out / "a")) == ["user.txt"] and not (out / "c.txt").exists()
    with pytest.raises(OutputDirError, match="did not write it"):
        g.new_file("a/user.txt")  # never replaced
    assert (out / "a" / "user.txt").read_text() == "u"
    g.abandon()  # the folder holds the user's file: it stays
    assert (out / "a" / "user.txt").read_text() == "u"
    # a run that never finished: its files go without --overwrite, nothing else does
    h = OutputFolder.open(str(tmp_path / "p"), "tools/x.py")
    h.write_bytes("partial.bin", b"x")
    (tmp_path / "p" / "keep.txt").write_text("k")
    h2 = OutputFolder.open(str(tmp_path / "p"), "tools/x.py")
    assert "did not finish" in h2.notes[0]
    assert sorted(os.listdir(tmp_path / "p")) == [".autr_d2_files", MARKER, "keep.txt"]
    # abandoning a run in a folder it created leaves nothing
    e = OutputFolder.open(str(tmp_path / "new"), "tools/x.py")
    e.write_bytes("x/y.txt", b"y")
    e.abandon()
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------ 2. interrupted and truncated
def test_interrupt_finishes_a_playable_partial_video(tmp_path, fake, monkeypatch, capsys):
    """Ctrl-C in the second window: exit 130 with one line (no traceback), overlay.partial.mp4
    plays up to where it stopped, summary.json says so; a rerun needs no --overwrite."""
    video = tmp_path / "in.mp4"
    _video(video, 15)
    from autr_d2.predictor import AuTRPredictor

    real = AuTRPredictor.__call__

    def interrupt(self, frames, log_mel):
        if len(fake) == 6:  # the first window had 5 clips
            raise KeyboardInterrupt
        return real(self, frames, log_mel)

    monkeypatch.setattr(AuTRPredictor, "__call__", interrupt)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        run_demo("--input", video, "--output", out)
    assert e.value.code == demo.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted after" in err and "overlay.partial.mp4" in err and "Traceback" not in err
    assert not (out / "overlay.mp4").exists()
    with av.open(str(out / "overlay.partial.mp4")) as c:
        n = sum(1 for _ in c.decode(video=0))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and n == summary["frames_written"] > 0
    assert json.loads((out / MARKER).read_text())["state"] == "interrupted"
    monkeypatch.setattr(AuTRPredictor, "__call__", real)
    run_demo("--input", video, "--output", out)  # no --overwrite needed
    assert (out / "overlay.mp4").is_file() and not (out / "overlay.partial.mp4").exists()


CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from autr_d2.predictor import AuTRPredictor
    from tools import demo

    # a process started from a background job (CI scripts, `cmd &`) inherits SIGINT ignored and
    # Python then installs no KeyboardInterrupt handler: what Ctrl-C does in a terminal is asked for
    signal.signal(signal.SIGINT, signal.default_int_handler)
    after = int(os.environ["SIGINT_AFTER_WINDOWS"])
    windows = AuTRPredictor.predict_windows

    def interrupted(self, *args, **kwargs):
        for n, win in enumerate(windows(self, *args, **kwargs)):
            if n == after:  # a real SIGINT from the OS while window `after` is being made
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            yield win

    AuTRPredictor.predict_windows = interrupted
    demo.AuTRPredictor = lambda cfg: AuTRPredictor(cfg, allow_untrained=True)
    sys.argv = ["demo.py", *sys.argv[1:]]
    try:
        demo.main(demo.get_parser().parse_args())
    except KeyboardInterrupt:
        sys.exit(99)
    """
)


@pytest.mark.parametrize("after_windows", [2, 0])
def test_ctrl_c_in_a_real_process(tmp_path, after_windows):
    """A real SIGINT while the demo runs: exit status 130, a one-line message, no traceback;
    after two windows a playable partial video, and during the very first window (a KeyError in
    the timing summary once turned that into a traceback) still a clean stop, and no partial
    video without a picture (one was once left behind)."""
    from .test_train import TINY

    video = tmp_path / "in.mp4"
    _video(video, 30)
    out = tmp_path / "out"
    cfg = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")
    args = ["--config-file", cfg, "--input", str(video), "--output", str(out), "--quiet", *TINY]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, SIGINT_AFTER_WINDOWS=str(after_windows)),
    )  # fmt: skip
    _, err = proc.communicate(timeout=120)  # the child signals itself mid-run (CHILD above)
    assert proc.returncode == demo.EXIT_INTERRUPTED, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err.strip().splitlines()[-1]
    if after_windows == 0:  # no frame written: no video without a picture is left behind
        assert "holds no video" in err and not (out / "overlay.partial.mp4").exists()
        assert json.loads((out / "summary.json").read_text())["video"] is None
        return
    with av.open(str(out / "overlay.partial.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) > 0


def _random_video(path, seconds, fps=30, acodec="libopus", vcodec="libx264"):
    """Frames of noise (so the file has size to cut) and a tone, `seconds` long."""
    rng = np.random.default_rng(0)
    sr = 48000
    with av.open(str(path), "w") as out:
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        ast = out.add_stream(acodec, rate=sr, layout="stereo")
        x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(seconds * sr) / sr).astype(np.float32)
        for s in range(seconds):
            for k in range(s * sr, (s + 1) * sr, 960):
                af = av.AudioFrame.from_ndarray(
                    np.stack([x[k : k + 960]] * 2), format="fltp", layout="stereo"
                )
                af.sample_rate, af.pts, af.time_base = sr, k, Fraction(1, sr)
                out.mux(ast.encode(af))
            for i in range(fps):
                img = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts = s * fps + i
                out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        out.mux(ast.encode(None))


def test_truncated_file_says_how_much_was_read_and_exits_non_zero(tmp_path, fake, capsys):
    video = tmp_path / "full.mkv"
    _random_video(video, 6)
    cut = tmp_path / "cut.mkv"
    data = video.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.4)])
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        run_demo("--input", cut, "--output", out)
    assert e.value.code == demo.EXIT_TRUNCATED
    said = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    read, promised = summary["truncated"]["read_s"], summary["truncated"]["promised_s"]
    assert 1.0 < read < 3.5 and abs(promised - 6.0) < 0.1
    assert f"ends after {read:.1f} s of the 6.0 s" in said
    assert (out / "overlay.mp4").is_file()  # what was read is written
    # the whole file: no such note, exit 0
    summary = run_demo("--input", video, "--output", tmp_path / "out2")
    assert summary["truncated"] is None


@pytest.mark.parametrize(
    "ext,acodec,fps", [("mp4", "aac", 30), ("mkv", "libopus", 30), ("mp4", "aac", 25)]
)
def test_a_ten_second_file_has_ten_seconds(tmp_path, fake, ext, acodec, fps):
    """10.0 s at 5 processed frames per second: 50 frames, none at t = 10, no word about a
    second 10 that does not exist."""
    video = tmp_path / f"ten.{ext}"
    _random_video(video, 10, fps=fps, acodec=acodec)
    summary = run_demo("--input", video, "--output", tmp_path / "out")
    assert summary["processed_frames"] == 50
    assert summary["frames"] == 10 * fps
    assert abs(summary["duration_s"] - 10.0) < 1e-3
    assert not summary["silent_seconds"] and not summary["no_audio_seconds"]
    assert not any("10" in m for m in summary["messages"]), summary["messages"]


# ------------------------------------------------------------------ 3. every channel layout
def test_downmix_rules():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    z = np.zeros_like(x)
    # one channel of 5.1 carries the sound: heard as the mono file, at its level
    centre = np.stack([z, z, x, z, z, z])
    np.testing.assert_allclose(downmix(centre, ["FL", "FR", "FC", "LFE", "BL", "BR"]), x, atol=1e-6)
    np.testing.assert_allclose(downmix(np.stack([x, z])), x, atol=1e-6)  # left only
    np.testing.assert_allclose(downmix(np.stack([x, x])), x, atol=1e-6)  # centred stereo
    np.testing.assert_allclose(downmix(np.stack([x, -x])), x, atol=1e-6)  # phase-inverted pair
    np.testing.assert_allclose(downmix(x[None]), x)
    assert not downmix(np.zeros((2, 100), np.float32)).any()
    # the LFE alone is not what a mono listener hears first, but it is not lost either
    assert np.abs(downmix(np.stack([z, z, z, x, z, z]))).max() > 0


def test_sounding_seconds_ignores_codec_tails():
    sr = 16000
    loud = 0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    tail = np.zeros(sr, np.float32)
    tail[: int(0.11 * sr)] = 10 ** (-56.6 / 20) * np.sqrt(2) * np.sin(np.arange(int(0.11 * sr)))
    assert sounding_seconds(loud, sr) == pytest.approx(1.0)
    assert sounding_seconds(tail, sr) < MIN_SOUND_S
    quiet = loud * 10 ** ((SILENCE_DBFS + 15) / 20) / 0.5  # -45 dBFS: heard
    assert sounding_seconds(quiet, sr) == pytest.approx(1.0)


def _heard(tmp_path, name, audio, layout, acodec="pcm_s16le", ext="mkv", sr=SR):
    """A 4 s video at 5 fps with `audio` [C, N] (lossless by default); returns its path."""
    path = tmp_path / f"{name}.{ext}"
    make_video(path, [i / 5 for i in range(20)], audio, layout=layout, acodec=acodec, sr=sr)
    return path


@pytest.mark.parametrize(
    "case",
    ["5.1 centre at -45 dBFS", "5.1 centre at a normal level", "stereo, R = -L", "left only"],
)
def test_every_layout_is_heard_as_its_mono_twin(tmp_path, fake, case):
    """Each layout reaches the model as the same sound in a mono file does: the same log-mel
    for every clip, the same sounding seconds (so the same masks)."""
    level = 10 ** (-45 / 20) if "-45" in case else 0.5
    x = tones(4) * level / 0.5
    z = np.zeros_like(x)
    if case.startswith("5.1"):
        audio, layout = np.stack([z, z, x, z, z, z]), "5.1"
    elif "R = -L" in case:
        audio, layout = np.stack([x, -x]), "stereo"
    else:
        audio, layout = np.stack([x, z]), "stereo"
    twin = _heard(tmp_path, "mono", x[None], "mono")
    run_demo("--input", twin, "--output", tmp_path / "o_mono", "--fps", 1)
    mono_mels, mono_summary = (
        [m for _, m in fake],
        json.loads((tmp_path / "o_mono" / "summary.json").read_text()),
    )
    fake.clear()
    multi = _heard(tmp_path, "multi", audio, layout)
    summary = run_demo("--input", multi, "--output", tmp_path / "o_multi", "--fps", 1)
    assert summary["silent_seconds"] == mono_summary["silent_seconds"] == []
    assert summary["frames_with_sounding_object"] == mono_summary["frames_with_sounding_object"]
    assert len(fake) == len(mono_mels)
    for (_, mel), twin_mel in zip(fake, mono_mels):
        torch.testing.assert_close(mel, twin_mel, atol=1e-3, rtol=0)


@pytest.mark.parametrize("ext,acodec", [("mkv", "libopus"), ("webm", "libopus"), ("mp4", "aac")])
def test_digital_silence_after_a_cut_is_silent_in_every_codec(tmp_path, fake, ext, acodec):
    """3 s of broadband sound cut to digital silence for 3 s: the codec's tail (Opus rings for
    about 0.1 s into the next second) does not make second 3 sounding; as in the mp4 twin."""
    rng = np.random.default_rng(0)
    sr = 48000
    x = np.zeros(6 * sr, np.float32)
    x[: 3 * sr] = 0.3 * rng.standard_normal(3 * sr)
    path = tmp_path / f"cut.{ext}"
    vcodec = "libvpx-vp9" if ext == "webm" else "libx264"
    with av.open(str(path), "w") as out:
        vs = out.add_stream(vcodec, rate=5)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        ast = out.add_stream(acodec, rate=sr, layout="stereo")
        for k in range(0, len(x), 960):
            af = av.AudioFrame.from_ndarray(
                np.stack([x[k : k + 960]] * 2), format="fltp", layout="stereo"
            )
            af.sample_rate, af.pts, af.time_base = sr, k, Fraction(1, sr)
            out.mux(ast.encode(af))
        for i in range(30):
            vf = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        out.mux(ast.encode(None))
    summary = run_demo("--input", path, "--output", tmp_path / "out", "--fps", 1)
    assert summary["silent_seconds"] == [3, 4, 5]
    assert summary["frames_with_sounding_object"] == 3


def test_timeline_status_uses_the_loudest_channel():
    sr = 16000
    x = (10 ** (-45 / 20) * np.sqrt(2) * np.sin(np.arange(sr) * 0.3)).astype(np.float32)
    six = np.zeros((6, sr), np.float32)
    six[2] = x
    tl = AudioTimeline(iter([(0.0, six)]), sr, ["FL", "FR", "FC", "LFE", "BL", "BR"])
    tl.ensure(2.0)
    assert tl.status(0.0, 1.0) == "sound"  # the mean of 6 channels would be -60.6 dBFS
    np.testing.assert_allclose(tl.mono(0.0), x, atol=1e-6)


# ------------------------------------------------------------------ 4. the outputs and the time
def test_masks_for_segmented_frames_and_stage_times(tmp_path, fake):
    """30 fps, 5 segmented per second: 5 mask PNGs per second at the video's size (not 30),
    index.csv names the mask every frame shows, --mask-every-frame writes one per frame; the
    summary says where the time went."""
    video = tmp_path / "in.mp4"
    _random_video(video, 2, acodec="aac")
    out = tmp_path / "out"
    summary = run_demo("--input", video, "--output", out)
    pngs = sorted(p for p in os.listdir(out / "masks") if p.endswith(".png"))
    assert len(pngs) == summary["mask_files"] == summary["processed_frames"] == 10
    rows = (out / "masks" / "index.csv").read_text().splitlines()
    assert rows[0] == "frame,time_s,mask,segmented_frame,status" and len(rows) == 61
    assert all(r.split(",")[2] in pngs for r in rows[1:])
    from PIL import Image

    assert Image.open(out / "masks" / pngs[0]).size == (96, 64)
    stages = summary["stage_seconds"]
    assert set(stages) == {
        "blend_and_encode", "decode_for_model", "decode_for_overlay", "draw", "model"
    }  # fmt: skip
    assert all(v >= 0 for v in stages.values()) and summary["realtime_factor"] > 0
    every = run_demo("--input", video, "--output", tmp_path / "all", "--mask-every-frame")
    assert every["mask_files"] == 60
    with av.open(str(out / "overlay.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 60


def test_demo_picks_bf16_only_where_native(monkeypatch):
    from autr_d2.utils import precision

    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert precision.resolve_dtype("auto", "cpu") == torch.float32
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert precision.resolve_dtype("auto", "cpu") == torch.bfloat16
    assert precision.resolve_dtype("float32", "cpu") == torch.float32


def test_frames_are_scaled_straight_to_the_model_size(tmp_path):
    """The model's frames come from libswscale at the model's size and match the full-size
    frame scaled the Detectron2 way (PIL bilinear) to within a few grey levels."""
    from PIL import Image

    yy, xx = np.mgrid[:360, :640]
    img = np.stack(
        [xx / 640 * 255, yy / 360 * 255, 128 + 100 * np.sin(xx / 40) * np.cos(yy / 30)], -1
    )
    video = tmp_path / "smooth.mp4"
    with av.open(str(video), "w") as out:
        vs = out.add_stream("libx264", rate=5)
        vs.width, vs.height, vs.pix_fmt, vs.options = 640, 360, "yuv420p", {"qp": "0"}
        vf = av.VideoFrame.from_ndarray(img.clip(0, 255).astype(np.uint8), format="rgb24")
        vf.pts = 0
        out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    ref = next(iter(open_video(str(video)).frames()))
    small = ref.resized(128, 128)
    assert small.shape == (128, 128, 3)
    pil = np.asarray(Image.fromarray(ref.image()).resize((128, 128), Image.BILINEAR))
    assert np.abs(small.astype(int) - pil).mean() < 3
