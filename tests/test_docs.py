"""The docs' commands run as printed: every fenced ``bash`` block of the user docs names tools,
configs, flags, config keys and make targets that exist (nothing is run or trained), every
relative link points at a file, and the Python examples import what exists (the extension
example of docs/extending.md builds and trains)."""

import ast
import glob
import importlib.util
import os
import re
import shlex
import sys

import pytest
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from autr_d2.config import add_autr_config

from .conftest import random_clip, tiny_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the user docs; docs/notes/ is history (commands as they were at the commits it names)
DOCS = sorted(
    ["README.md", "INSTALL.md", "GETTING_STARTED.md", "MODEL_ZOO.md", "CONTRIBUTING.md"]
    + [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))]
)
PYTHONS = (".venv/bin/python", "python", "python3")


def _blocks(doc, lang):
    text = open(os.path.join(ROOT, doc)).read()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def _commands(block):
    """Shell commands of a block: continuation lines joined, comments dropped, each line split at
    ; && || and |, leading VAR=value assignments removed."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        cur = []
        for tok in [*lex, ";"]:
            if set(tok) <= set(";&|"):
                while cur and re.match(r"^[A-Z_][A-Z0-9_]*=", cur[0]):
                    cur = cur[1:]
                if cur:
                    out.append(cur)
                cur = []
            else:
                cur.append(tok)
    return out


def _all_commands():
    found = []
    for doc in DOCS:
        for block in _blocks(doc, "bash"):
            found += [(doc, c) for c in _commands(block)]
    return found


def _load_tool(path):
    name = "doccheck_" + re.sub(r"\W", "_", path)
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    here = os.path.dirname(os.path.join(ROOT, path))
    sys.path.insert(0, here)  # as when the script runs: its folder comes first
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(here)
    return module


_TOOLS = {}


def _parser(path):
    if path not in _TOOLS:
        _TOOLS[path] = _load_tool(path).get_parser()
    return _TOOLS[path]


def _make_targets():
    text = open(os.path.join(ROOT, "Makefile")).read()
    return set(re.findall(r"^([a-z][\w-]*):", text, flags=re.M))


def test_the_docs_hold_commands():
    cmds = _all_commands()
    tools = {c[1] for _, c in cmds if c[0] in PYTHONS and len(c) > 1 and c[1].endswith(".py")}
    assert len(cmds) > 40 and {"tools/train_net.py", "tools/demo.py"} <= tools


@pytest.mark.parametrize(
    "doc,cmd",
    [(d, c) for d, c in _all_commands() if c[0] in PYTHONS + ("make",)],
    ids=lambda x: x if isinstance(x, str) else " ".join(x)[:70],
)
def test_every_documented_command_is_accepted(doc, cmd):
    where = f"{doc}: {' '.join(cmd)}"
    if cmd[0] == "make":
        targets = [a for a in cmd[1:] if "=" not in a and not a.startswith("-")]
        missing = set(targets) - _make_targets()
        assert not missing, f"{where}: no make target {missing}"
        return
    if len(cmd) < 2 or cmd[1] in ("-m", "-c"):
        return  # pytest, python -c: not a tool
    if cmd[2:] in (["--help"], ["-h"]):
        return
    tool = cmd[1]
    assert os.path.isfile(os.path.join(ROOT, tool)), f"{where}: {tool} does not exist"
    try:
        args = _parser(tool).parse_args(cmd[2:])
    except SystemExit as e:
        pytest.fail(f"{where}: its argparse refuses the arguments (exit {e.code})")
    config = getattr(args, "config_file", None)
    if config:
        assert os.path.isfile(os.path.join(ROOT, config)), f"{where}: no config {config}"
    opts = getattr(args, "opts", None) or []
    if opts:
        assert len(opts) % 2 == 0, f"{where}: config overrides must be KEY VALUE pairs"
        cfg = get_cfg()
        add_autr_config(cfg)
        if config:
            cfg.merge_from_file(os.path.join(ROOT, config), allow_unsafe=False)
        try:
            cfg.merge_from_list(list(opts))
        except (KeyError, ValueError, AssertionError) as e:
            pytest.fail(f"{where}: config override refused: {e}")


def test_relative_links_and_named_files_exist():
    bad = []
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc)).read()
        base = os.path.dirname(os.path.join(ROOT, doc))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^(https?:|mailto:|#)", target):
                continue
            if not os.path.exists(os.path.join(base, target.split("#")[0])):
                bad.append(f"{doc}: link {target}")
        for path in re.findall(r"\b((?:configs|tools|datasets)/[\w/.-]+\.(?:yaml|py))\b", text):
            if "*" not in path and not os.path.isfile(os.path.join(ROOT, path)):
                bad.append(f"{doc}: names {path}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("doc", [d for d in DOCS if _blocks(d, "python")])
def test_python_examples_import_what_exists(doc):
    for block in _blocks(doc, "python"):
        tree = ast.parse(block)
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, []), doc, "exec"), {})


def test_the_extension_example_builds_and_trains():
    """docs/extending.md's MyMaskHead, as printed, is one config line away from a model."""
    from autr_d2.modeling import MASK_HEAD_REGISTRY

    if "MyMaskHead" not in dict(iter(MASK_HEAD_REGISTRY)):
        exec(_blocks("docs/extending.md", "python")[0], {})
    model = build_model(tiny_cfg("MODEL.AUTR.MASK_HEAD", "MyMaskHead"))
    assert type(model.mask_head).__name__ == "MyMaskHead"
    model.train()
    with EventStorage():
        losses = model([random_clip(64)])
    sum(losses.values()).backward()
    assert model.mask_head.embed.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model([random_clip(64)])[0]
    assert out["frames"][0]["sem_seg"].shape == (2, 64, 64)
