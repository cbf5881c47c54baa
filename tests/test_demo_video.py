"""The demo on real-world video: timestamps (variable frame rate, audio that starts late or ends
early), each frame's own second of audio, 5.1 sound, frames + wav of different lengths, output
folders, argument errors, and memory that stays flat in the video's length.

Videos are written with PyAV in the tests; each frame shows its index as black/white stripes, so a
fake model can tell which frames it was given. The fake model (``AuTRPredictor.__call__`` patched)
says "everything sounds" and records the log-mel it receives.
"""

import json
import os
import struct
import subprocess
import sys
import textwrap
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from autr_d2.data.audio import waveform_to_log_mel
from autr_d2.utils.video_io import open_frames_folder, open_video
from tools import demo

from .test_train import ROOT, TINY

CONFIG = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")
BITS, SR = 10, 16000


def stripes(i, h=48, w=80):
    """A frame showing the number i in binary: white stripes for the set bits."""
    img = np.zeros((h, w, 3), np.uint8)
    for b in range(BITS):
        if i >> b & 1:
            img[:, b * w // BITS : (b + 1) * w // BITS] = 255
    return img


def read_stripes(img):
    h, w = img.shape[:2]
    return sum(1 << b for b in range(BITS) if img[h // 2, int((b + 0.5) * w / BITS), 0] > 127)


def tones(seconds, sr=SR, loud=None):
    """[N] float32: second s carries a tone of 200 * (s + 1) Hz (silence where loud[s] is False)."""
    t = np.arange(sr) / sr
    parts = [
        0.5 * np.sin(2 * np.pi * 200 * (s + 1) * t) * (1 if loud is None else loud[s])
        for s in range(seconds)
    ]
    return np.concatenate(parts).astype(np.float32)


def make_video(path, times, audio=None, audio_start=0.0, layout="mono", acodec="aac", sr=SR):
    """H.264 (lossless) frames at `times` seconds and `audio` ``[C, N]`` starting at `audio_start`
    s, interleaved as a camera would write them."""
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 80, 48, "yuv420p"
        vs.codec_context.time_base = tb
        vs.options = {"qp": "0", "preset": "ultrafast"}
        ast = out.add_stream(acodec, rate=sr, layout=layout) if audio is not None else None
        pos, step = 0, sr // 10

        def audio_until(t):
            nonlocal pos
            while ast is not None and pos < audio.shape[1] and audio_start + pos / sr <= t:
                block = np.ascontiguousarray(audio[:, pos : pos + step])
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
                af.sample_rate, af.time_base = sr, Fraction(1, sr)
                af.pts = round(audio_start * sr) + pos
                out.mux(ast.encode(af))
                pos += step

        for i, t in enumerate(times):
            audio_until(t + 0.5)
            vf = av.VideoFrame.from_ndarray(stripes(i), format="rgb24")
            vf.pts, vf.time_base = round(t * 1000), tb
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        if ast is not None:
            audio_until(float("inf"))
            out.mux(ast.encode(None))
    return [round(t * 1000) / 1000 for t in times]


def run_demo(*args):
    """tools/demo.py main() in this process (with the fake model when `fake` is used)."""
    argv = ["--config-file", CONFIG, "--quiet", *map(str, args), *TINY]
    return demo.main(demo.get_parser().parse_args(argv))


def nearest(times, targets):
    """Index of the frame nearest to each target (the earlier one on a tie)."""
    t = np.asarray(times)
    return [int(np.flatnonzero(np.abs(t - x) == np.abs(t - x).min())[0]) for x in targets]


def own_second_mel(wave, t, sr=SR):
    a = round(t * sr)
    seg = np.zeros(sr, np.float32)
    part = wave[a : a + sr]
    seg[: len(part)] = part
    return waveform_to_log_mel(seg, sr, 1)[0]


def test_vfr_each_frame_gets_its_own_second(tmp_path, fake, predictor):
    """3 s at 30 fps then 2 fps: frames are picked by time, and every example k of every clip the
    model receives is the log-mel of frame k's own second [t, t + 1); seconds 8-9 are silent, so
    exactly the frames whose second is silent get empty masks."""
    times = [i / 30 for i in range(90)] + [3 + i / 2 for i in range(14)]
    wave = tones(10, loud=[1] * 8 + [0, 0])
    path = tmp_path / "vfr.mkv"
    times = make_video(path, times, wave[None], acodec="pcm_f32le")
    pred = predictor.predict_video(open_video(str(path)), fps=5, progress=False)

    expected = sorted(set(nearest(times, [k / 5 for k in range(50)])))
    assert pred.frame_indices == expected  # sampled by time: each second gets ~5 frames
    assert pred.times == [times[i] for i in expected]
    for members, mel in fake:
        assert len(members) == 5
        for k, i in enumerate(members):
            torch.testing.assert_close(mel[k], own_second_mel(wave, times[i]), atol=1e-4, rtol=0)
    predicted = {i for members, _ in fake for i in members}
    sounding = [i for i in expected if times[i] <= 7.5]  # [t, t + 1) reaches the loud seconds
    assert set(sounding) <= predicted
    has_mask = [bool(m.any()) for m in pred.masks]
    assert has_mask == [times[i] <= 7.5 for i in expected]
    assert pred.status[-1] == "silent"


@pytest.mark.parametrize(
    "start,end,no_audio", [(5.0, 10.0, list(range(0, 5))), (0.0, 2.0, list(range(2, 10)))]
)
def test_audio_starting_late_or_ending_early(tmp_path, fake, capsys, start, end, no_audio):
    """Audio from 5 s (or until 2 s) of a 10 s video: the seconds without audio are silence
    (empty masks), said in summary.json and on the console; the overlay keeps the audio's start."""
    wave = tones(10)[round(start * SR) : round(end * SR)]
    times = make_video(tmp_path / "in.mp4", [i / 5 for i in range(50)], wave[None], start)
    out = tmp_path / "out"
    summary = run_demo("--input", tmp_path / "in.mp4", "--output", out)
    assert summary["no_audio_seconds"] == no_audio
    assert summary["frame_times"] == "pts"
    said = f"seconds {no_audio[0]}-{no_audio[-1]} have no audio"
    assert said in capsys.readouterr().out
    assert any(said in m for m in json.loads((out / "summary.json").read_text())["messages"])
    for i, t in enumerate(times):
        m = np.asarray(Image.open(out / "masks" / f"{i:06d}.png"))
        if t + 1 <= start or t >= end:  # the frame's whole second lies outside the audio
            assert not m.any(), (i, t)
        if start <= t and t + 1 <= end:
            assert m.all(), (i, t)
    with av.open(str(out / "overlay.mp4")) as c:
        assert c.streams.video[0].frames == len(times)
        first = next(f.time for f in c.decode(audio=0))
    assert abs(first - start) < 0.1  # the sound stays where it was (AAC priming: 64 ms)


def test_surround_overlay_keeps_every_channel(tmp_path, fake):
    """A 5.1 file whose only sound is in the centre channel (film dialogue): the overlay keeps all
    6 channels and the centre is still loud."""
    sr = 48000
    audio = np.zeros((6, 4 * sr), np.float32)
    audio[2] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(4 * sr) / sr)  # FL FR FC LFE BL BR
    make_video(tmp_path / "in.mp4", [i / 5 for i in range(20)], audio, layout="5.1", sr=sr)
    summary = run_demo("--input", tmp_path / "in.mp4", "--output", tmp_path / "out", "--fps", 1)
    assert summary["audio"]["overlay"].startswith("copied")
    with av.open(str(tmp_path / "out" / "overlay.mp4")) as c:
        assert c.streams.audio[0].codec_context.channels == 6
        x = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    rms = np.sqrt(np.mean(x**2, axis=1))
    assert rms[2] > 0.2 and rms[[0, 1, 3, 4, 5]].max() < 0.01


def rotate_display(path, a, b, c, d):
    """Set the first track's display matrix (mp4 ``tkhd``: a b 0 / c d 0 / 0 0 1, 16.16 fixed
    point) as phones do: the frames stay stored landscape, players turn them."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd") + 44  # version-0 box: the matrix follows 40 bytes of header fields
    assert struct.unpack(">9i", data[at : at + 36])[:5:4] == (0x10000, 0x10000)  # identity
    data[at : at + 36] = struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(data)


@pytest.mark.parametrize(
    "matrix,said,corner",  # where the stored top-left corner is shown
    [
        ((0, 0x10000, -0x10000, 0), "90 degrees clockwise", "top right"),  # an upright phone
        ((0, -0x10000, 0x10000, 0), "90 degrees counter-clockwise", "bottom left"),
        ((-0x10000, 0, 0, -0x10000), "180 degrees", "bottom right"),
        ((-0x10000, 0, 0, 0x10000), "mirrored left to right", "top right"),
        ((0x10000, 0, 0, -0x10000), "mirrored top to bottom", "bottom left"),
    ],
)
def test_display_matrix_is_applied(tmp_path, fake, capsys, matrix, said, corner):
    """An 80x48 video whose only white is its top-left 16x16 corner, with a display matrix as
    phones write for portrait video: frames are read as players show them (turned: 48 wide, 80
    high), the corner is where the matrix puts it, masks and overlay have the shown size, and the
    console and summary.json say what was done."""
    video = tmp_path / "phone.mp4"
    img = np.zeros((48, 80, 3), np.uint8)
    img[:16, :16] = 255
    with av.open(str(video), "w") as out:
        vs = out.add_stream("libx264", rate=5)
        vs.width, vs.height, vs.pix_fmt = 80, 48, "yuv420p"
        vs.options = {"qp": "0", "preset": "ultrafast"}
        for i in range(10):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    rotate_display(video, *matrix)
    src = open_video(str(video))
    size = (80, 48) if "90" in said else (48, 80)
    assert (src.height, src.width) == size
    shown = next(iter(src.frames())).image()
    assert shown.shape == (*size, 3)
    rows = slice(None, 16) if corner.startswith("top") else slice(-16, None)
    cols = slice(None, 16) if corner.endswith("left") else slice(-16, None)
    assert shown[rows, cols].min() > 200
    shown[rows, cols] = 0
    assert shown.max() < 50  # nothing white elsewhere
    out = tmp_path / "out"
    summary = run_demo("--input", video, "--output", out)
    assert said in capsys.readouterr().out and said in summary["orientation"]
    assert summary["audio_mismatch"] is None
    assert np.asarray(Image.open(out / "masks" / "000000.png")).shape == size
    with av.open(str(out / "overlay.mp4")) as c:
        vs = c.streams.video[0]
        assert (vs.codec_context.height, vs.codec_context.width) == size
        assert next(c.decode(vs)).rotation == 0  # written as shown, no matrix left to apply


@pytest.mark.parametrize("n_frames,wav_s,said", [(3, 10, "goes with no frame"), (20, 1, "after")])
def test_frames_and_wav_of_different_lengths(tmp_path, fake, capsys, n_frames, wav_s, said):
    """3 frames + 10 s of sound, 20 frames + 1 s: the demo says what it did; a stereo wav's two
    channels reach the overlay; frames whose second has no sound get empty masks."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n_frames):
        Image.fromarray(stripes(i)).save(folder / f"clip_{i + 1}.png")
    wave = tones(wav_s)
    sf.write(tmp_path / "a.wav", np.stack([wave, wave], 1), SR)
    source = open_frames_folder(str(folder), str(tmp_path / "a.wav"), 1.0)
    assert len(source.messages) == 1 and said in source.messages[0]
    out = tmp_path / "out"
    summary = run_demo("--frames", folder, "--audio", tmp_path / "a.wav", "--output", out)
    assert said in summary["audio_mismatch"] and said in capsys.readouterr().out
    masks = [np.asarray(Image.open(out / "masks" / f"{i:06d}.png")) for i in range(n_frames)]
    assert [bool(m.any()) for m in masks] == [i < wav_s for i in range(n_frames)]
    with av.open(str(out / "overlay.mp4")) as c:
        assert c.streams.audio[0].codec_context.channels == 2
    matched = open_frames_folder(str(folder), str(tmp_path / "a.wav"), n_frames / wav_s)
    assert matched.messages == []


@pytest.mark.parametrize("flag,value", [("--fps", "0"), ("--fps", "-1"), ("--frames-fps", "0")])
def test_non_positive_rates_are_refused(flag, value, capsys):
    with pytest.raises(SystemExit):
        demo.get_parser().parse_args(
            ["--config-file", CONFIG, "--input", "x.mp4", "--output", "o", flag, value]
        )
    assert "greater than 0" in capsys.readouterr().err


def test_output_folder_rules(tmp_path, fake, monkeypatch):
    """The input's own folder is refused even with --overwrite (nothing removed), an existing file
    is refused before any decoding, a second run with --overwrite into its own output works."""
    home = tmp_path / "videos"
    home.mkdir()
    video = home / "clip.mp4"
    make_video(video, [i / 5 for i in range(10)], tones(2)[None])
    (home / "notes.txt").write_text("mine")
    (tmp_path / "afile").write_text("x")
    decoded = []
    real_frames = type(open_video(str(video))).frames
    monkeypatch.setattr(
        type(open_video(str(video))), "frames", lambda self: decoded.append(1) or real_frames(self)
    )
    for bad, why in [(home, "holds the input"), (tmp_path / "afile", "is a file")]:
        with pytest.raises(SystemExit, match=why):
            run_demo("--input", video, "--output", bad, "--overwrite")
    assert not decoded
    assert video.is_file() and (home / "notes.txt").read_text() == "mine"
    out = tmp_path / "out"
    run_demo("--input", video, "--output", out)
    with pytest.raises(SystemExit, match="--overwrite"):
        run_demo("--input", video, "--output", out)
    run_demo("--input", video, "--output", out, "--overwrite")
    assert sorted(os.listdir(out)) == sorted(
        ["masks", "overlay.mp4", "summary.json", ".autr_d2_output.json", ".autr_d2_files"]
    )
    assert len(os.listdir(out / "masks")) == 11  # 10 masks and index.csv


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_output_is_refused_before_decoding(tmp_path, fake):
    video = tmp_path / "clip.mp4"
    make_video(video, [i / 5 for i in range(5)], tones(1)[None])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(SystemExit, match="not writable"):
            run_demo("--input", video, "--output", locked / "out")
    finally:
        locked.chmod(0o755)


CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, torch
    from autr_d2.predictor import AuTRPredictor
    from autr_d2.utils.video_io import open_video
    from tests.conftest import tiny_cfg
    from tools import demo

    def fake_call(self, frames, log_mel):
        t, (h, w) = len(frames), frames[0].shape[:2]
        p = torch.zeros(h, w)
        p[h // 4 : h // 2, w // 4 : w // 2] = 1
        return {"frames": [{"sem_seg": torch.stack([1 - p, p])} for _ in range(t)],
                "sound_scores": torch.full((t, 3), 0.7)}

    AuTRPredictor.__call__ = fake_call
    predictor = AuTRPredictor(tiny_cfg(), allow_untrained=True)
    peaks = []
    for video, out in zip(sys.argv[1::2], sys.argv[2::2]):
        summary = demo.run(predictor, open_video(video), out, fps=1, progress=False)
        assert summary["frames"] == int(video.split("_")[-1][:-4]), summary
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(peaks))
    """
)


def test_memory_is_flat_in_the_video_length(tmp_path):
    """6 s, then 60 s of 320x240 at 10 fps through the whole demo (decode, predict, draw, encode)
    in a fresh process: the peak memory after the long one is within 30 MB of the peak after the
    short one (holding the 60 s video's frames alone would take 138 MB)."""
    from autr_d2.utils.video_writer import write_video

    args = []
    for seconds in (6, 60):
        path = str(tmp_path / f"v_{10 * seconds}.mp4")
        frames = [np.full((240, 320, 3), (i * 7) % 255, np.uint8) for i in range(10)]
        write_video(
            path, [frames[i % 10] for i in range(10 * seconds)], 10, tones(seconds)[None], SR
        )
        args += [path, str(tmp_path / f"out{seconds}")]
    res = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    short, long = json.loads(res.stdout.strip().splitlines()[-1])
    assert long < short + 30, (short, long)
