"""Output folders that tools own: a tool only ever removes what it wrote itself.

Every tool that writes a folder of results (``tools/demo.py``, ``tools/visualize.py``, the AVS-Synth
generator) claims it with :func:`prepare_output_dir`. The folder gets a marker file naming the
tool; ``--overwrite`` later removes only the entries that tool writes (its ``owned`` name
patterns) and only in a folder that carries its marker, holds nothing else and contains none of
the run's inputs. A folder with foreign files (a home folder, the input video's own folder) is
refused with a sentence that names what is in the way.
"""

import fnmatch
import json
import os
import shutil

__all__ = [
    "MARKER",
    "OutputDirError",
    "claim_output_dir",
    "marker_tool",
    "prepare_output_dir",
    "write_marker",
]

MARKER = ".autr_d2_output.json"


class OutputDirError(ValueError):
    """An output folder cannot be used; the message names it and says why."""


def _is_inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def write_marker(path, tool):
    """Mark `path` as `tool`'s output folder."""
    with open(os.path.join(path, MARKER), "w") as f:
        json.dump({"tool": tool}, f)


def _mark(path, tool):
    """Create `path` if needed and mark it as `tool`'s; returns `path`."""
    try:
        os.makedirs(path, exist_ok=True)
        write_marker(path, tool)
    except OSError as e:
        raise OutputDirError(f"{path}: cannot write there ({e.strerror})") from e
    return path


def marker_tool(path):
    """The tool named by `path`'s marker, or None."""
    try:
        with open(os.path.join(path, MARKER)) as f:
            return json.load(f).get("tool")
    except (OSError, ValueError, AttributeError):
        return None


def _check_writable(path):
    """The nearest existing ancestor of `path` must be a writable folder (checked before any
    long work, so a run does not fail after decoding a whole video)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise OutputDirError(f"{path}: cannot create the output folder, {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputDirError(f"{path}: cannot write there ({probe} is not writable)")


def prepare_output_dir(path, tool, owned, overwrite=False, inputs=()):
    """Make `path` ready for `tool`'s outputs and return it.

    Args:
        path: the output folder.
        tool: the tool's name, stored in the folder's marker (e.g. "tools/demo.py").
        owned: name patterns (fnmatch) of the entries the tool writes at the folder's top level.
        overwrite: allow replacing an earlier output of the same tool: its owned entries are
            removed, nothing else.
        inputs: the run's input paths; a folder that contains one is never used.
    Raises:
        OutputDirError: `path` is a file, not writable, holds an input, holds results without
            ``overwrite``, or (with ``overwrite``) was not written by `tool` or holds other files.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputDirError(f"{path}: is a file, not a folder; choose another --output")
    _check_writable(path)
    for src in inputs:
        if src and _is_inside(src, path):
            raise OutputDirError(
                f"{path}: holds the input {src}; write the output to a folder of its own"
            )
    entries = sorted(os.listdir(path)) if os.path.isdir(path) else []
    if entries:
        if not overwrite:
            raise OutputDirError(
                f"{path} is not empty; pass --overwrite to replace an earlier output of {tool}, "
                "or choose another folder"
            )
        if marker_tool(path) != tool:
            raise OutputDirError(
                f"{path}: not an output folder of {tool} (it has no {MARKER} marker naming it), "
                f"so --overwrite will not touch it; choose an empty or new folder"
            )
        foreign = [
            e for e in entries if e != MARKER and not any(fnmatch.fnmatch(e, p) for p in owned)
        ]
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise OutputDirError(
                f"{path}: holds files {tool} did not write ({shown}); --overwrite removes only "
                "its own outputs, so move them or choose another folder"
            )
        for e in entries:
            if e == MARKER:
                continue
            full = os.path.join(path, e)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.remove(full)
    return _mark(path, tool)


def claim_output_dir(path, tool, owned):
    """Make `path` `tool`'s working folder, kept across runs (a pipeline that resumes, such as
    ``tools/run_demo.py`` and ``tools/run_study.py``, rewrites its own summaries there), and
    return it. Nothing is removed.

    Accepted: a new or empty folder, one whose marker names `tool`, or an unmarked one that holds
    only entries matching `owned` (written by a version before markers). Anything else (another
    tool's folder, a folder with foreign files) is refused, so no file of the user's is replaced.
    Raises:
        OutputDirError: `path` is a file, not writable, or not `tool`'s folder.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputDirError(f"{path}: is a file, not a folder; choose another --output")
    _check_writable(path)
    entries = sorted(os.listdir(path)) if os.path.isdir(path) else []
    marker = marker_tool(path) if MARKER in entries else None
    if MARKER in entries and marker != tool:
        raise OutputDirError(
            f"{path}: an output folder of {marker or 'another tool'}, not of {tool}; "
            "choose another folder"
        )
    if MARKER not in entries:
        foreign = [e for e in entries if not any(fnmatch.fnmatch(e, p) for p in owned)]
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise OutputDirError(
                f"{path}: holds files {tool} did not write ({shown}) and it could replace some "
                "of them; choose a new or empty folder"
            )
    return _mark(path, tool)
