"""AuTRPredictor: a trained AuTR on raw frames + sound, like Detectron2's DefaultPredictor.

A clip is T frames one second apart, each paired with the second of audio that starts at it (the
AVSBench convention: frame k of a 5 s clip goes with audio second k). ``predict_video`` covers a
video of any length and frame rate: frames are taken at ``fps`` per second, cut into windows of T
seconds, and within a window the frames ``j, j + fps, j + 2 fps, ...`` form one clip, so every
processed frame gets its own prediction with its own second of audio. Frames whose second of audio
is silent (below ``SILENCE_DBFS``) get an empty mask: nothing can be heard, so nothing sounds.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import transforms as T
from detectron2.modeling import build_model
from tqdm import tqdm

from .data.audio import waveform_to_log_mel

__all__ = ["AuTRPredictor", "VideoPrediction", "SILENCE_DBFS"]
logger = logging.getLogger(__name__)

SILENCE_DBFS = -60.0  # RMS of a second of audio below this is treated as silence


def _dbfs(x):
    return 20 * np.log10(max(float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0, 1e-12))


@dataclass
class VideoPrediction:
    frame_indices: list  # indices (into the video's frames) that were processed
    masks: np.ndarray  # [N, H, W] bool, one per processed frame
    sound_scores: np.ndarray  # [N] the kept query's sound score (0 where silent)
    silent: np.ndarray  # [N] bool: the frame's second of audio was silent (mask left empty)
    messages: list = field(default_factory=list)

    def for_frame(self, i):
        """(mask, sound score, silent) shown on video frame i: those of the last processed frame
        at or before i."""
        k = max(int(np.searchsorted(self.frame_indices, i, side="right")) - 1, 0)
        return self.masks[k], float(self.sound_scores[k]), bool(self.silent[k])


class AuTRPredictor:
    """Build the model from `cfg`, load ``MODEL.WEIGHTS``, predict in eval mode without grad.

    ``predictor(frames, log_mel)`` runs one clip: T RGB uint8 frames ``[H,W,3]`` and log-mel
    ``[T,1,96,64]``; returns the model's output dict at the frames' size.
    """

    def __init__(self, cfg):
        self.cfg = cfg.clone()
        self.model = build_model(self.cfg)
        self.model.eval()
        if cfg.MODEL.WEIGHTS:
            DetectionCheckpointer(self.model).load(cfg.MODEL.WEIGHTS)
        else:
            logger.warning("MODEL.WEIGHTS is empty: predicting with an untrained model")
        self.num_frames = cfg.INPUT.SAMPLING_FRAME_NUM
        self.aug = T.Resize((cfg.INPUT.SIZE_TEST, cfg.INPUT.SIZE_TEST))
        self.input_format = cfg.INPUT.FORMAT

    @torch.no_grad()
    def __call__(self, frames, log_mel):
        if len(frames) != self.num_frames:
            raise ValueError(f"got {len(frames)} frames; the model takes {self.num_frames}")
        h, w = frames[0].shape[:2]
        tfm = self.aug.get_transform(frames[0])
        ims = [tfm.apply_image(f if self.input_format == "RGB" else f[..., ::-1]) for f in frames]
        clip = {
            "frames": torch.as_tensor(np.ascontiguousarray(np.stack(ims).transpose(0, 3, 1, 2))),
            "audio": torch.as_tensor(log_mel, dtype=torch.float32),
            "height": h,
            "width": w,
        }
        return self.model([clip])[0]

    def predict_video(self, video, fps=5, progress=True):
        """Segment the sounding objects of a :class:`~autr_d2.utils.video_io.Video`.

        Args:
            video: frames, fps and audio (``None`` when the file had no audio track).
            fps: frames processed per second (an integer; capped by the video's own rate); the
                other frames show the last processed frame's mask.
        Returns:
            VideoPrediction.
        """
        n_video = len(video.frames)
        rate = max(1, min(int(fps), int(round(video.fps))))
        n = max(1, int(np.floor(video.duration * rate + 1e-6)))
        idx = [min(n_video - 1, int(round(i * video.fps / rate))) for i in range(n)]
        h, w = video.frames[0].shape[:2]
        masks = np.zeros((n, h, w), bool)
        scores = np.zeros(n, np.float32)
        silent = np.ones(n, bool)
        pred = VideoPrediction(idx, masks, scores, silent)
        if video.audio is None:
            pred.messages.append(
                f"{video.source}: no audio track, so nothing can be sounding; masks are empty"
            )
            return pred
        mono = video.audio.mean(0)
        sr = video.sample_rate
        if _dbfs(mono) < SILENCE_DBFS:
            pred.messages.append(
                f"{video.source}: the audio track is silent (RMS {_dbfs(mono):.0f} dBFS < "
                f"{SILENCE_DBFS:.0f}); nothing is sounding, masks are empty"
            )
            return pred
        seconds = []  # one second of audio per processed frame, starting at its time
        for i in range(n):
            start = int(round(i / rate * sr))
            start = max(0, min(start, len(mono) - sr))
            seg = mono[start : start + sr]
            seconds.append(np.pad(seg, (0, sr - len(seg))))
        silent[:] = [_dbfs(s) < SILENCE_DBFS for s in seconds]

        t = self.num_frames
        clips = []
        for w0 in range(0, n, t * rate):
            for j in range(rate):
                members = [w0 + j + s * rate for s in range(t)]
                if members[0] >= n:
                    break
                clips.append(members)
        for members in tqdm(clips, desc="AuTR", unit="clip", disable=not progress):
            valid = [m for m in members if m < n]
            padded = valid + [valid[-1]] * (t - len(valid))  # repeat the last, as AVSBench pads
            wave = np.concatenate([seconds[m] for m in padded])
            mel = waveform_to_log_mel(wave, sr, t, video.source)
            out = self([video.frames[idx[m]] for m in padded], mel)
            best = out["sound_scores"].max(1).values
            for k, m in enumerate(valid):
                if silent[m]:
                    continue
                masks[m] = (out["frames"][k]["sem_seg"][1] > 0.5).cpu().numpy()
                scores[m] = float(best[k])
        if silent.any():
            pred.messages.append(
                f"{video.source}: {int(silent.sum())} of {n} processed frames have silent audio "
                "and get empty masks"
            )
        return pred
