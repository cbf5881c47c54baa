#!/usr/bin/env python
"""Install Detectron2 into the current Python environment.

Detectron2's authors do not publish it on PyPI, and GitHub may be out of reach. This script gives
two routes:

* default: the Detectron2 0.6 *source* release that PyPI carries as ``pb1-detectron2==0.6``.
  That archive has no C++/CUDA sources (``detectron2/layers/csrc`` is missing), so it is built as a
  pure-Python wheel. Five things are changed on the way, each printed as it is applied:

  1. ``detectron2/_C.py`` is added: a module whose attribute access raises an ImportError naming the
     compiled op and saying why it is missing. AuTR uses none (no deformable conv, no rotated
     boxes, no fast COCO eval); a user who calls one gets that message, not a bare import failure.
  2. The post-0.6 upstream fixes for NumPy >= 1.24 (``np.bool/np.int/np.float/np.str`` were removed:
     use the builtins) and Pillow >= 10 (``Image.LINEAR`` was removed: ``Image.BILINEAR``).
  3. ``detectron2.engine.launch`` uses the gloo backend and skips ``torch.cuda.set_device`` when no
     GPU is present, as upstream does after 0.6 (0.6 asserts CUDA), so ``--num-gpus 2`` starts two
     CPU processes on a machine without a GPU; ``create_ddp_model`` passes ``device_ids`` only for
     a model on a GPU (DDP rejects them for a CPU model).
  4. ``utils/collect_env.py`` (run by ``default_setup``) reports the missing ops instead of
     crashing on the stub.
  5. ``setup.py`` drops the stale ``black==21.4b2`` pin, the (source-less) C++ extension and the
     direct-URL ``panopticapi`` extra (pip refuses those from an index).

* ``--from-git``: build the official repository (needs GitHub and a compiler; has the ops).

The built wheel is cached (``--cache-dir``, default ``~/.cache/autr_d2``) so a rerun is instant, and
the script is idempotent: when an importable Detectron2 is already installed it only verifies it.
The result is verified by importing ``detectron2.engine``, ``detectron2.evaluation`` and
``detectron2.utils.visualizer`` in a fresh interpreter.
"""

import argparse
import glob
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request

SDIST_NAME = "pb1-detectron2"
SDIST_VERSION = "0.6"
SDIST_SHA256 = "5d2e9e51e523ec72f6a31cca04b0a515492e9514b773a3d134cedc0677170b29"
# The local version label tells `pip list` readers this is the patched pure-Python build.
WHEEL_VERSION = "0.6+purepy.2"
GIT_URL = "git+https://github.com/facebookresearch/detectron2.git"
VERIFY_IMPORTS = ("detectron2.engine", "detectron2.evaluation", "detectron2.utils.visualizer")

C_STUB = '''"""Placeholder for Detectron2's compiled ops (by autr_d2's tools/install_detectron2.py).

This Detectron2 was built from the 0.6 source release on PyPI, which ships no C++/CUDA sources.
Every op that needs them raises ImportError when first used. Install the official build with
`python tools/install_detectron2.py --from-git` if you need them.
"""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise ImportError(
        f"detectron2._C.{name} is a compiled Detectron2 op, and this Detectron2 was built "
        "pure-Python from the 0.6 source release on PyPI, which has no C++/CUDA sources. "
        "autr_d2 does not need it; for models that do, reinstall with "
        "`python tools/install_detectron2.py --from-git` (needs GitHub and a compiler)."
    )
'''

# (file glob, pattern, replacement, why)
SOURCE_FIXES = [
    ("detectron2/**/*.py", r"\bnp\.bool\b(?!_)", "bool", "NumPy>=1.24 removed np.bool"),
    ("detectron2/**/*.py", r"\bnp\.int\b(?!\d|_)", "int", "NumPy>=1.24 removed np.int"),
    ("detectron2/**/*.py", r"\bnp\.float\b(?!\d|_)", "float", "NumPy>=1.24 removed np.float"),
    ("detectron2/**/*.py", r"\bnp\.str\b(?!_)", "str", "NumPy>=1.24 removed np.str"),
    ("detectron2/**/*.py", r"\bImage\.LINEAR\b", "Image.BILINEAR", "Pillow>=10 removed LINEAR"),
]

LAUNCH_FIXES = [
    (
        "assert torch.cuda.is_available(), "
        '"cuda is not available. Please check your installation."',
        "has_gpu = torch.cuda.is_available()\n"
        "    if has_gpu:\n"
        "        assert num_gpus_per_machine <= torch.cuda.device_count()",
    ),
    ('backend="NCCL",', 'backend="NCCL" if has_gpu else "GLOO",'),
    (
        "    assert num_gpus_per_machine <= torch.cuda.device_count()\n"
        "    torch.cuda.set_device(local_rank)\n",
        "    if has_gpu:\n        torch.cuda.set_device(local_rank)\n",
    ),
]


def log(msg):
    print(f"[install_detectron2] {msg}", flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    subprocess.check_call(cmd, **kw)


def verify(python=sys.executable):
    """True when Detectron2 imports with the modules AuTR needs, in a fresh interpreter."""
    code = "import " + ", ".join(VERIFY_IMPORTS) + "; import detectron2; print(detectron2.__file__)"
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if res.returncode == 0:
        log(f"verified: {', '.join(VERIFY_IMPORTS)} import from {res.stdout.strip()}")
        return True
    log("verification failed:\n" + res.stderr.strip()[-2000:])
    return False


def installed_version(python=sys.executable):
    """Version of the installed detectron2 distribution, or None."""
    code = "import importlib.metadata as m; print(m.version('detectron2'))"
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else None


def download_sdist(workdir, index_url):
    """Fetch the pb1-detectron2 0.6 source archive from the index and check its sha256.

    ``pip download`` cannot be used: the archive declares a direct-URL extra (panopticapi), which
    pip refuses for anything from PyPI.
    """
    page_url = f"{index_url.rstrip('/')}/{SDIST_NAME}/"
    log(f"reading {page_url}")
    with urllib.request.urlopen(page_url, timeout=60) as resp:
        page = resp.read().decode()
    name = f"{SDIST_NAME}-{SDIST_VERSION}.tar.gz"
    links = re.findall(r'href="([^"]*' + re.escape(name) + r')[^"]*"', page)
    if not links:
        raise SystemExit(f"{name} not listed at {page_url}")
    url = urllib.parse.urljoin(page_url, links[0])
    dest = os.path.join(workdir, name)
    log(f"downloading {url}")
    with urllib.request.urlopen(url, timeout=300) as resp, open(dest, "wb") as f:
        f.write(resp.read())
    digest = hashlib.sha256(open(dest, "rb").read()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{name}: sha256 {digest} does not match the pinned {SDIST_SHA256}")
    return dest


def patch_source(src):
    """Apply the five changes described in the module docstring to an unpacked sdist."""
    with open(os.path.join(src, "detectron2", "_C.py"), "w") as f:
        f.write(C_STUB)
    log("added detectron2/_C.py (clear ImportError for compiled ops)")

    for pattern_glob, pattern, repl, why in SOURCE_FIXES:
        count = 0
        for path in glob.glob(os.path.join(src, pattern_glob), recursive=True):
            text = open(path).read()
            new, n = re.subn(pattern, repl, text)
            if n:
                open(path, "w").write(new)
                count += n
        log(f"{why}: {count} replacements")

    launch = os.path.join(src, "detectron2", "engine", "launch.py")
    text = open(launch).read()
    for old, new in LAUNCH_FIXES:
        if old not in text:
            raise SystemExit(f"unexpected launch.py content, cannot apply gloo backport: {old!r}")
        text = text.replace(old, new)
    open(launch, "w").write(text)
    log("engine/launch.py: gloo backend and no set_device when no GPU")

    defaults = os.path.join(src, "detectron2", "engine", "defaults.py")
    text = open(defaults).read()
    old = '    if "device_ids" not in kwargs:\n'
    if text.count(old) != 1:
        raise SystemExit("unexpected engine/defaults.py content, cannot apply the CPU DDP fix")
    text = text.replace(
        old, '    if "device_ids" not in kwargs and next(model.parameters()).is_cuda:\n'
    )
    open(defaults, "w").write(text)
    log("engine/defaults.py: create_ddp_model gives device_ids only to a GPU model (CPU DDP)")

    env = os.path.join(src, "detectron2", "utils", "collect_env.py")
    text = open(env).read()
    old = "        import detectron2._C as _C\n    except ImportError as e:"
    if old not in text:
        raise SystemExit("unexpected collect_env.py content, cannot apply the _C probe fix")
    text = text.replace(
        old,
        "        import detectron2._C as _C\n\n"
        "        _C.get_compiler_version  # the pure-Python stub raises ImportError\n"
        "    except ImportError as e:",
    )
    open(env, "w").write(text)
    log("utils/collect_env.py: reports the missing compiled ops instead of crashing")

    setup_py = os.path.join(src, "setup.py")
    text = open(setup_py).read()
    text = text.replace('        "black==21.4b2",\n', "")
    text = text.replace("    ext_modules=get_extensions(),\n", "")
    # A direct-URL extra makes pip refuse the wheel; panopticapi is not used by AuTR.
    text = re.sub(r'\n\s*"panopticapi @ [^\n]*', "", text)
    text = text.replace('    name="pb1-detectron2",', '    name="detectron2",')
    text = text.replace("    version=get_version(),", f'    version="{WHEEL_VERSION}",')
    if "black==" in text or "ext_modules=" in text or "panopticapi @" in text:
        raise SystemExit("unexpected setup.py content; refusing to build a half-patched wheel")
    open(setup_py, "w").write(text)
    log(f"setup.py: no black pin, no C++ extension, distribution detectron2=={WHEEL_VERSION}")


def build_wheel(cache_dir, index_url):
    os.makedirs(cache_dir, exist_ok=True)
    cached = glob.glob(os.path.join(cache_dir, f"detectron2-{WHEEL_VERSION}-*.whl"))
    if cached:
        log(f"using cached wheel {cached[0]}")
        return cached[0]
    with tempfile.TemporaryDirectory() as tmp:
        sdist = download_sdist(tmp, index_url)
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        src = os.path.join(tmp, f"{SDIST_NAME}-{SDIST_VERSION}")
        patch_source(src)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                cache_dir,
                src,
            ]
        )
    return glob.glob(os.path.join(cache_dir, f"detectron2-{WHEEL_VERSION}-*.whl"))[0]


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from-git",
        action="store_true",
        help="build the official repository (needs GitHub and a compiler)",
    )
    parser.add_argument(
        "--cache-dir",
        default=os.path.expanduser("~/.cache/autr_d2"),
        help="where the built wheel is kept for reuse",
    )
    parser.add_argument(
        "--index-url",
        default=os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple"),
        help="simple index that serves the pb1-detectron2 source archive",
    )
    parser.add_argument("--force", action="store_true", help="reinstall even if one imports")
    return parser


def main(argv=None):
    args = get_parser().parse_args(argv)

    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit(
            "install torch first (see README: pip install torch==2.14.1 ...)"
        ) from None

    try:
        import cv2  # noqa: F401  (Detectron2 imports it but leaves its install to the user)
    except ImportError:
        run([sys.executable, "-m", "pip", "install", "opencv-python-headless>=4.8"])

    installed = installed_version()
    stale = installed and installed.startswith("0.6+purepy") and installed != WHEEL_VERSION
    if not installed:
        log("Detectron2 is not installed in this environment yet: installing it")
    elif stale:
        log(f"installed detectron2 {installed} is an older build of this script: upgrading")
    elif not args.force and verify():
        log(f"Detectron2 {installed} already installed; nothing to do (--force reinstalls)")
        return 0
    if args.from_git:
        run([sys.executable, "-m", "pip", "install", "--no-build-isolation", GIT_URL])
    else:
        wheel = build_wheel(args.cache_dir, args.index_url)
        run([sys.executable, "-m", "pip", "install", "--force-reinstall", "--no-deps", wheel])
        # Dependencies go through pip's resolver separately so the wheel's own pins apply.
        run([sys.executable, "-m", "pip", "install", wheel])
    if not verify():
        raise SystemExit("Detectron2 was installed but does not import; see the error above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
