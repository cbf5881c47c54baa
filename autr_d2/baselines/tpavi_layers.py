"""TPAVI's layers (AVSBench, "Audio-Visual Segmentation", ECCV 2022), as pure torch modules.

Written from the paper and the layout of AVSBench's released code (Apache-2.0,
``avs_scripts/avs_s4/model/{ResNet_AVSModel,PVT_AVSModel,TPAVI}.py``); the attribute names are
the official ones, so ``tools/convert_pretrained.py tpavi`` maps a released state dict 1:1.
Two details decide whether the logits match the official ones:

* ``ResidualConvUnit``: the official unit applies an in-place ReLU to its input first, so its
  skip adds ``relu(x)``, not ``x`` (and the caller's map is ReLU'd: ``TPAVI.forward`` returns the
  ReLU'd maps that the audio-visual matching loss uses);
* ``TPAVIBlock``: a dot-product "attention" divided by the number of positions, with no softmax.
  Without a softmax, ``(theta^T phi / N) g^T = theta^T (phi g^T) / N``: the block computes the
  right-hand side, a ``[C', C']`` product instead of the official ``[N, N]`` one (0.98 GB per clip
  at stride 4), the same function up to float rounding.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ASPPSum", "FeatureFusionBlock", "OutputHead", "ResidualConvUnit", "TPAVIBlock"]


class ASPPSum(nn.Module):
    """The official ``Classifier_Module``: four dilated 3x3 convolutions (dilations 3, 6, 12, 18)
    to ``out_channels``, summed (no norm, no activation). ``[N,C,H,W]`` -> ``[N,out,H,W]``."""

    def __init__(self, in_channels, out_channels=256, dilations=(3, 6, 12, 18)):
        super().__init__()
        self.conv2d_list = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 3, padding=d, dilation=d) for d in dilations
        )
        for m in self.conv2d_list:
            nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x):
        out = self.conv2d_list[0](x)
        for conv in self.conv2d_list[1:]:
            out = out + conv(x)
        return out


class TPAVIBlock(nn.Module):
    """Temporal pixel-wise audio-visual interaction: every position of the clip's maps attends to
    the audio of every frame (``va``: the audio embedding broadcast over its frame's positions is
    the key) or to every other position (visual-visual, audio None); residual, LayerNorm.

    Args:
        channels: C of the maps; inter_channels: C' of theta, phi, g.
        audio_dim: the audio embedding's E (VGGish: 128); align_bias: the audio projection's bias
            (AVSBench-object: yes; the AVSS release: no).
    """

    def __init__(self, channels=256, inter_channels=128, audio_dim=128, align_bias=True):
        super().__init__()
        self.align_channel = nn.Linear(audio_dim, channels, bias=align_bias)
        self.norm_layer = nn.LayerNorm(channels)
        self.g = nn.Conv3d(channels, inter_channels, 1)
        self.W_z = nn.Sequential(nn.Conv3d(inter_channels, channels, 1), nn.BatchNorm3d(channels))
        nn.init.zeros_(self.W_z[1].weight)  # the block starts as LayerNorm(x)
        nn.init.zeros_(self.W_z[1].bias)
        self.theta = nn.Conv3d(channels, inter_channels, 1)
        self.phi = nn.Conv3d(channels, inter_channels, 1)

    def forward(self, x, audio=None):
        """x ``[B,C,T,H,W]``, audio ``[B,T,E]`` or None -> (``[B,C,T,H,W]``, the projected audio
        ``[B,T,C]`` or None)."""
        b, c, t, h, w = x.shape
        n = t * h * w
        a = None
        if audio is not None:
            a = self.align_channel(audio)  # [B, T, C]
            # the key is each frame's audio broadcast over its positions; phi is pointwise, so
            # it runs on the T vectors and is broadcast after
            phi_x = self.phi(a.permute(0, 2, 1)[..., None, None])
            phi_x = phi_x.expand(-1, -1, t, h, w).flatten(2)  # [B, C', N]
        else:
            phi_x = self.phi(x).flatten(2)
        g_x = self.g(x).flatten(2)  # [B, C', N]
        theta_x = self.theta(x).flatten(2)  # [B, C', N]
        # y = (theta^T phi / N) g^T, computed as theta^T (phi g^T) / N: no [N, N] matrix
        inner = torch.bmm(phi_x, g_x.transpose(1, 2)) / n  # [B, C', C']
        y = torch.bmm(inner.transpose(1, 2), theta_x)  # [B, C', N]
        z = self.W_z(y.view(b, -1, t, h, w)) + x
        z = self.norm_layer(z.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return z, a


class ResidualConvUnit(nn.Module):
    """``conv2(relu(conv1(relu(x)))) + relu(x)``: the official unit's in-place ReLU makes its
    skip add ``relu(x)``."""

    def __init__(self, channels=256):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        r = F.relu(x)
        return self.conv2(F.relu(self.conv1(r))) + r


class FeatureFusionBlock(nn.Module):
    """``up2(RCU2(x + RCU1(skip)))`` (``up2(RCU2(x))`` without a skip), bilinear with
    align_corners=True as the official block. ``resConfUnit1`` of the coarsest block is never
    used (it is in the official checkpoints, so it is kept)."""

    def __init__(self, channels=256):
        super().__init__()
        self.resConfUnit1 = ResidualConvUnit(channels)
        self.resConfUnit2 = ResidualConvUnit(channels)

    def forward(self, x, skip=None):
        out = x if skip is None else x + self.resConfUnit1(skip)
        out = self.resConfUnit2(out)
        return F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)


class _Upsample2(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class OutputHead(nn.Sequential):
    """The official ``output_conv``: conv 3x3 to C/2, x2 bilinear, conv 3x3 to 32, ReLU, conv 1x1
    to `out_channels` (1: a sounding-object logit per pixel; C+1 classes for AVSS)."""

    def __init__(self, channels=256, out_channels=1):
        super().__init__(
            nn.Conv2d(channels, channels // 2, 3, padding=1),
            _Upsample2(),
            nn.Conv2d(channels // 2, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, out_channels, 1),
        )
