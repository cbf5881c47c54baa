"""Output folders that tools own: a tool only ever removes files it recorded writing.

A tool that writes a folder of results (``tools/demo.py``, ``tools/visualize.py``,
``tools/export_model.py``, the AVS-Synth generator) opens it as an :class:`OutputFolder`. The
folder gets a marker naming the tool and the run's state, and a manifest: every file and folder the
tool creates is recorded there *before* it is created (created exclusively, so nothing that was
already there is ever replaced), and every finished file with its size and modification time.
``--overwrite`` later removes exactly the recorded files that are still as the tool left them,
then the recorded folders that are empty; nothing is matched by a name pattern and no folder is
removed with what it holds. Files a user added (``masks/my_corrected_000003.png``,
``vacation_strip.png``) or changed stay where they are.

A run that never finished (interrupted, killed, crashed) leaves its marker in the "running" state:
the next run of the same tool removes that run's recorded files without asking (they are an
unfinished output, not a result), unless the process that wrote them is still alive.

A folder with no marker, or another tool's, is refused; so is one that holds the run's own input.
``train_net.py``'s files are written by Detectron2, not by the project, so an
:class:`OutputRecorder` keeps its manifest by looking: the files under Detectron2's names that are
new or rewritten since the run started (``engine/defaults.py``). :func:`claim_output_dir` serves
pipelines that only rewrite their own summaries and never remove anything.
"""

import fnmatch
import hashlib
import json
import logging
import os
import shutil
import socket

__all__ = [
    "MANIFEST",
    "MARKER",
    "OutputDirError",
    "OutputFolder",
    "another_run_alive",
    "claim_output_dir",
    "marker_tool",
    "OutputRecorder",
    "matches",
    "record_files",
    "refuse_unrecorded",
    "replace_recorded_outputs",
    "snapshot",
    "unrecorded",
    "write_marker",
]

MARKER = ".autr_d2_output.json"
MANIFEST = ".autr_d2_files"  # one line per event: "+ rel", "= rel size mtime_ns", "d rel",
# "- rel" (removed), "a rel size sha1" (a log the tool appends to: the sha1 of its first size bytes)
RUNNING, COMPLETE, INTERRUPTED = "running", "complete", "interrupted"


class OutputDirError(ValueError):
    """An output folder cannot be used; the message names it and says why."""


def _is_inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_marker(path):
    try:
        with open(os.path.join(path, MARKER)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(path, tool, **fields):
    """Mark `path` as `tool`'s output folder (``fields``: the run's state and process)."""
    tmp = os.path.join(path, MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"tool": tool, **fields}, f)
    os.replace(tmp, os.path.join(path, MARKER))


def marker_tool(path):
    """The tool named by `path`'s marker, or None."""
    return (_read_marker(path) or {}).get("tool")


def _check_writable(path):
    """The nearest existing ancestor of `path` must be a writable folder (checked before any
    long work, so a run does not fail after decoding a whole video)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputDirError(f"{path}: is a file, not a folder; choose another --output")
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


def _refuse_inputs(path, inputs):
    """An output folder that holds one of the run's inputs is never used (--overwrite could
    otherwise reach the input)."""
    for src in inputs:
        if src and _is_inside(src, path):
            raise OutputDirError(
                f"{path}: holds the input {src}; write the output to a folder of its own"
            )


def another_run_alive(marker):
    """True when the marker's process still runs on this machine (another run in progress)."""
    pid, host = marker.get("pid"), marker.get("host")
    if not isinstance(pid, int) or host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stamp(full):
    st = os.stat(full)
    return st.st_size, st.st_mtime_ns


def _prefix_sha1(full, size):
    """sha1 of the first `size` bytes of `full` (None when it is shorter)."""
    h = hashlib.sha1()
    left = size
    with open(full, "rb") as f:
        while left:
            block = f.read(min(left, 1 << 20))
            if not block:
                return None
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def _inside_plainly(path, rel):
    """`rel` lies under `path` with no symbolic link on the way (a link to another folder is
    never followed: what it points to is not the tool's to remove)."""
    full = os.path.join(path, rel)
    return os.path.realpath(full) == os.path.join(os.path.realpath(path), *rel.split("/"))


def _rewrite_manifest(path, lines, remove_empty=True):
    """Replace `path`'s manifest by `lines` in one step (a reader never sees half of it); no
    lines: no manifest (or an empty one: `remove_empty` False)."""
    target = os.path.join(path, MANIFEST)
    if not lines and remove_empty:
        try:
            os.remove(target)
        except FileNotFoundError:
            pass
        return
    tmp = target + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(line + "\n" for line in lines)
    os.replace(tmp, target)


def _append_manifest(path, lines):
    """Append whole lines to `path`'s manifest in one write (two processes never interleave
    inside a line)."""
    if not lines:
        return
    data = "".join(line + "\n" for line in lines).encode()
    fd = os.open(os.path.join(path, MANIFEST), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class OutputFolder:
    """A tool's output folder and the manifest of everything it wrote there.

    Open one with :meth:`open`; then ``path = folder.new_file("masks/000001.png")`` before writing
    a file (records it, creates it empty and exclusively: an existing file is an error, never
    replaced), ``folder.done(rel)`` once it is written, :meth:`write_bytes` for both at once, and
    :meth:`finish` at the end. :meth:`abandon` removes what this run wrote (a run that failed
    before producing anything useful).
    """

    def __init__(self, path, tool):
        self.path, self.tool = path, tool
        self.created = not os.path.isdir(path)
        self._log = None
        self._written = []  # rel paths this run created, in order
        self._dirs = set()

    # ------------------------------------------------------------------ opening and cleaning
    @classmethod
    def open(cls, path, tool, overwrite=False, inputs=(), owned=()):
        """Make `path` ready for a run of `tool` and return it.

        Args:
            path: the output folder (created if missing).
            tool: the tool's name, stored in the marker (e.g. "tools/demo.py").
            overwrite: allow replacing a finished earlier output of the same tool: only the files
                it recorded (and left unchanged) are removed, then its recorded empty folders.
            inputs: the run's input paths; a folder that contains one is never used.
            owned: name patterns (fnmatch, relative paths) of what the tool writes: a file there
                matching one that the tool did not record would block a name it needs, so it is
                refused before the run starts (nothing is removed by pattern).
        Raises:
            OutputDirError: `path` is a file or not writable, holds an input, holds a finished
                result without ``overwrite``, is another tool's or no tool's folder, another run
                is writing there, or a file of the user's takes a name the tool writes.
        """
        _check_writable(path)
        _refuse_inputs(path, inputs)
        folder = cls(path, tool)
        entries = sorted(os.listdir(path)) if os.path.isdir(path) else []
        notes = []
        if entries:
            marker = _read_marker(path)
            if marker is None or marker.get("tool") != tool:
                if MARKER not in entries and not overwrite:
                    raise OutputDirError(
                        f"{path} is not empty and not an output folder of {tool}; choose an "
                        "empty or new folder"
                    )
                raise OutputDirError(
                    f"{path}: not an output folder of {tool} (it has no {MARKER} marker naming "
                    f"it), so {tool} will not write or remove anything there; choose an empty "
                    "or new folder"
                )
            if MANIFEST not in entries and set(entries) - {MARKER}:
                raise OutputDirError(
                    f"{path}: written by an earlier version of {tool} that kept no record of its "
                    "files, so it cannot tell them from yours; remove that folder yourself or "
                    "choose another one"
                )
            state = marker.get("state", COMPLETE)
            if state == RUNNING and another_run_alive(marker):
                raise OutputDirError(
                    f"{path}: another run of {tool} (process {marker.get('pid')}) is writing "
                    "there; wait for it or choose another folder"
                )
            recorded = folder._records()[0]
            has_output = any(os.path.isfile(os.path.join(path, rel)) for rel in recorded)
            if state == COMPLETE and not overwrite and has_output:
                raise OutputDirError(
                    f"{path} already holds an output of {tool}; pass --overwrite to replace it "
                    "(only the files it wrote are removed), or choose another folder"
                )
            if state != COMPLETE and has_output:
                notes.append(
                    f"{path}: removing the files of an earlier run that did not finish "
                    f"({state}); nothing else there is touched"
                )
            kept = folder._remove_recorded()
            if kept:
                shown = ", ".join(kept[:5]) + (" ..." if len(kept) > 5 else "")
                notes.append(
                    f"{path}: kept {len(kept)} file(s) {tool} once wrote but that changed since "
                    f"({shown}); they are yours now"
                )
        folder._check_owned_names(owned)
        folder._start()
        folder.notes = notes
        return folder

    @classmethod
    def attach(cls, path, tool):
        """Continue recording into `path`, a work folder that `tool` resumes (the AVS-Synth
        generator's ``<root>.partial``): nothing is removed, new files are added to its
        manifest with :meth:`record`."""
        folder = cls(path, tool)
        folder.notes = []
        folder._start()
        return folder

    def record(self, rel):
        """Record the file `rel` that this run has just written (a resumed run may replace its
        own earlier version of it), with the folders above it."""
        rel = rel.replace(os.sep, "/")
        parts = rel.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            sub = "/".join(parts[:k])
            if sub not in self._dirs:
                self._dirs.add(sub)
                self._record(f"d {sub}")
        self.done(rel)

    def not_as_recorded(self, rels):
        """The files of `rels` that are not as this tool recorded writing them (changed since,
        missing, or never recorded); the manifest is read once."""
        recorded, logs = self._records()[0], self._appended()
        return [
            rel
            for rel in rels
            if not os.path.isfile(full := os.path.join(self.path, rel))
            or not self._ours(rel, _stamp(full), recorded, logs)
        ]

    def _records(self):
        """{rel: (size, mtime_ns) or None (begun, not finished)}, [recorded folders]. A line
        that is not whole (a process killed while writing it) is skipped."""
        files, dirs = {}, []
        for kind, rest in self._lines():
            try:
                if kind == "+":
                    files[rest] = None
                elif kind == "=":
                    rel, size, mtime = rest.rsplit(" ", 2)
                    files[rel] = (int(size), int(mtime))
                elif kind == "-":
                    files.pop(rest, None)
                elif kind == "d" and rest not in dirs:
                    dirs.append(rest)
            except ValueError:
                continue
        return files, dirs

    def _appended(self):
        """{rel: (size, sha1)}: the logs the tool appends to, as last recorded."""
        logs = {}
        for kind, rest in self._lines():
            if kind == "a":
                try:
                    rel, size, sha = rest.rsplit(" ", 2)
                    logs[rel] = (int(size), sha)
                except ValueError:
                    continue
        return logs

    def _lines(self):
        try:
            with open(os.path.join(self.path, MANIFEST)) as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        return [line.partition(" ")[::2] for line in lines]

    def _ours(self, rel, stamp, files, logs):
        """Is the file `rel` (now `stamp`) as the tool left it? Recorded with this stamp, or a
        log it appends to that only grew from what it recorded (a run killed between records)."""
        if stamp is not None and files.get(rel) == stamp:
            return True
        if rel in logs and stamp is not None and stamp[0] >= logs[rel][0]:
            size, sha = logs[rel]
            return _prefix_sha1(os.path.join(self.path, rel), size) == sha
        return False

    def _remove_recorded(self):
        """Remove the recorded files that are as the tool left them, then recorded folders that
        are empty; returns the recorded files kept because they changed. Nothing is reached
        through a symbolic link."""
        files, dirs = self._records()
        logs = self._appended()
        kept = []
        for rel, stamp in files.items():
            full = os.path.join(self.path, rel)
            if not os.path.isfile(full) or not _inside_plainly(self.path, rel):
                continue
            if stamp is not None and not self._ours(rel, _stamp(full), files, logs):
                kept.append(rel)
                continue
            os.remove(full)
        for rel in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
            full = os.path.join(self.path, rel)
            if os.path.isdir(full) and _inside_plainly(self.path, rel) and not os.listdir(full):
                os.rmdir(full)
        # the kept files stay recorded, so a later --overwrite keeps them too
        _rewrite_manifest(self.path, [f"= {rel} {files[rel][0]} {files[rel][1]}" for rel in kept])
        return kept

    def _check_owned_names(self, owned):
        if not owned or not os.path.isdir(self.path):
            return
        clash = []
        for dirpath, _, names in os.walk(self.path):
            for name in names:
                rel = os.path.relpath(os.path.join(dirpath, name), self.path)
                if any(fnmatch.fnmatch(rel, p) for p in owned):
                    clash.append(rel)
        if clash:
            shown = ", ".join(sorted(clash)[:5]) + (" ..." if len(clash) > 5 else "")
            raise OutputDirError(
                f"{self.path}: holds {shown}, which {self.tool} did not write but would write "
                "under the same name; move it or choose another folder"
            )

    def _start(self):
        try:
            os.makedirs(self.path, exist_ok=True)
            write_marker(self.path, self.tool, state=RUNNING, pid=os.getpid(),
                         host=socket.gethostname())  # fmt: skip
            self._log = open(os.path.join(self.path, MANIFEST), "a")
        except OSError as e:
            raise OutputDirError(f"{self.path}: cannot write there ({e.strerror})") from e

    # ------------------------------------------------------------------ writing
    def _record(self, line):
        self._log.write(line + "\n")
        self._log.flush()

    def makedirs(self, rel):
        """Create the folder `rel` (and its parents) inside the output folder, recording those
        this run creates. Returns its path."""
        parts = [p for p in rel.replace(os.sep, "/").split("/") if p]
        for k in range(1, len(parts) + 1):
            sub = "/".join(parts[:k])
            full = os.path.join(self.path, sub)
            if not os.path.isdir(full):
                self._record(f"d {sub}")
                os.mkdir(full)
                self._dirs.add(sub)
        return os.path.join(self.path, *parts)

    def new_file(self, rel):
        """Record `rel` and create it empty and exclusively; returns its path to write to.

        Raises:
            OutputDirError: a file of that name is already there (it is not replaced).
        """
        rel = rel.replace(os.sep, "/")
        if "/" in rel:
            self.makedirs(rel.rsplit("/", 1)[0])
        full = os.path.join(self.path, rel)
        self._record(f"+ {rel}")
        try:
            os.close(os.open(full, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            self._record(f"- {rel}")
            raise OutputDirError(
                f"{full}: already exists and {self.tool} did not write it, so it is not "
                "replaced; move it or choose another folder"
            ) from None
        self._written.append(rel)
        return full

    def done(self, rel):
        """Record that `rel` is written (its size and time: a later change makes it the user's)."""
        rel = rel.replace(os.sep, "/")
        size, mtime = _stamp(os.path.join(self.path, rel))
        self._record(f"= {rel} {size} {mtime}")

    def write_bytes(self, rel, data):
        """Write `data` to the new file `rel` (see :meth:`new_file`); returns its path."""
        full = self.new_file(rel)
        with open(full, "wb") as f:
            f.write(data)
        self.done(rel)
        return full

    def discard(self, rel):
        """Remove the file `rel` that this run created (e.g. a name reserved for a library that
        did not need it) and its record."""
        rel = rel.replace(os.sep, "/")
        if rel not in self._written:
            raise ValueError(f"{rel} was not written by this run")
        os.remove(os.path.join(self.path, rel))
        self._record(f"- {rel}")
        self._written.remove(rel)

    def rename(self, src, dst):
        """Give the finished file `src` its final name `dst` (which must not exist)."""
        src, dst = src.replace(os.sep, "/"), dst.replace(os.sep, "/")
        full = os.path.join(self.path, dst)
        if os.path.lexists(full):
            raise OutputDirError(
                f"{full}: already exists and {self.tool} did not write it, so it is not replaced"
            )
        self._record(f"+ {dst}")
        os.rename(os.path.join(self.path, src), full)
        self._record(f"- {src}")
        self.done(dst)
        self._written = [dst if r == src else r for r in self._written]
        return full

    def finish(self, state=COMPLETE):
        """Close the manifest and mark the run `state` ("complete", or "interrupted": the next
        run removes its files without --overwrite)."""
        if self._log is not None:
            self._log.close()
            self._log = None
        write_marker(self.path, self.tool, state=state)

    def abandon(self):
        """Remove every file and folder this run created and, if this run created the output
        folder and nothing else is left in it, the folder itself."""
        if self._log is not None:
            self._log.close()
            self._log = None
        self._remove_recorded()
        left = set(os.listdir(self.path)) - {MARKER, MANIFEST}
        if self.created and not left:
            shutil.rmtree(self.path)
        else:
            write_marker(self.path, self.tool, state=COMPLETE)


def matches(rel, patterns):
    """Does the relative path `rel` match one of `patterns`, component by component (a ``*``
    never crosses a ``/``; a last component ``**`` matches any depth below)?"""
    parts = rel.split("/")
    for pattern in patterns:
        want = pattern.split("/")
        if want[-1] == "**":
            want = want[:-1]
            if len(parts) <= len(want):
                continue
        elif len(parts) != len(want):
            continue
        if all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, want)):
            return True
    return False


def snapshot(path, subdirs=()):
    """{rel: (size, mtime_ns)} of the files at `path`'s top and anywhere under its `subdirs`
    (the marker, the manifest and symbolic links left out), and the set of those folders."""
    files, dirs = {}, set()
    roots = [("", path, False)] + [(d + "/", os.path.join(path, d), True) for d in subdirs]
    for prefix, top, deep in roots:
        if not os.path.isdir(top) or (prefix and not _inside_plainly(path, prefix[:-1])):
            continue
        if prefix:
            dirs.add(prefix[:-1])
        for dirpath, dirnames, names in os.walk(top):
            sub = os.path.relpath(dirpath, top).replace(os.sep, "/")
            here = prefix + ("" if sub == "." else sub + "/")
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            if here:
                dirs.update(here + d for d in dirnames)
            for name in names:
                full = os.path.join(dirpath, name)
                if here + name in (MARKER, MANIFEST) or os.path.islink(full):
                    continue
                try:
                    if os.path.isfile(full):
                        files[here + name] = _stamp(full)
                except FileNotFoundError:  # removed while we looked
                    continue
            if not deep:
                break
    return files, dirs


class OutputRecorder:
    """The manifest of a folder that a library writes under its own names (Detectron2's
    checkpoints, logs and evaluations for ``train_net.py``), kept by looking rather than by
    being told.

    It remembers the folder as it was when the run started; :meth:`record` (call it
    periodically and at the end) adds to the folder's manifest every file matching `writes` (see
    :func:`matches`) that the run created or rewrote, with its size and time, and the folders the
    run created. A file that was there at the start is recorded only if it was the tool's then
    (recorded, unchanged): a file of the user's that Detectron2 appends to never becomes the
    run's. For the logs matching `logs` (appended to, and flushed in the background) it also
    records the sha1 of what they hold, so one that only grew since (a run killed between two
    records) is still told from one the user edited. :func:`replace_recorded_outputs` later
    removes only what a run of the tool wrote.
    """

    def __init__(self, path, writes, logs=()):
        self.path, self.writes, self.logs = path, tuple(writes), tuple(logs)
        self.subdirs = sorted({p.split("/")[0] for p in self.writes if "/" in p})
        self.before, self.dirs_before = snapshot(path, self.subdirs)
        old = OutputFolder(path, None)
        files, dirs = old._records()
        logs_recorded = old._appended()
        self.owned = {
            rel for rel, st in self.before.items() if old._ours(rel, st, files, logs_recorded)
        }
        self.recorded, self.dirs = {}, set()
        if files:  # one line per file still there: the manifest does not grow run after run
            lines = [f"d {d}" for d in dirs if d in self.dirs_before]
            for rel, stamp in files.items():
                if rel in self.before and stamp is not None:
                    lines.append(f"= {rel} {stamp[0]} {stamp[1]}")
                    if rel in logs_recorded:
                        lines.append(f"a {rel} {logs_recorded[rel][0]} {logs_recorded[rel][1]}")
            _rewrite_manifest(path, lines, remove_empty=False)

    def record(self):
        """Record what changed since the last call. A file system error (a full disk) is a
        warning: bookkeeping never stops a training run."""
        try:
            self._record()
        except OSError as e:
            logging.getLogger(__name__).warning(
                f"{self.path}: could not record the run's files ({e}); --overwrite will "
                "refuse the files it does not find recorded"
            )

    def _record(self):
        if not os.path.isdir(self.path):
            return
        files, dirs = snapshot(self.path, self.subdirs)
        lines = []
        for rel, stamp in sorted(files.items()):
            if stamp == self.recorded.get(rel) or not matches(rel, self.writes):
                continue
            if rel in self.before and (rel not in self.owned or stamp == self.before[rel]):
                continue  # the user's, or the tool's and left as it was (recorded already)
            parts = rel.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                sub = "/".join(parts[:k])
                if sub in dirs and sub not in self.dirs_before and sub not in self.dirs:
                    self.dirs.add(sub)
                    lines.append(f"d {sub}")
            lines.append(f"= {rel} {stamp[0]} {stamp[1]}")
            if matches(rel, self.logs):
                sha = _prefix_sha1(os.path.join(self.path, rel), stamp[0])
                if sha:
                    lines.append(f"a {rel} {stamp[0]} {sha}")
            self.recorded[rel] = stamp
        _append_manifest(self.path, lines)


def record_files(path, rels):
    """Add the finished files `rels` (relative to `path`) to `path`'s manifest: files a second
    tool writes into a run folder (``run_study.py``'s score cache beside a training run)."""
    lines = []
    for rel in rels:
        size, mtime = _stamp(os.path.join(path, rel))
        lines.append(f"= {rel.replace(os.sep, '/')} {size} {mtime}")
    _append_manifest(path, lines)


def unrecorded(path, writes):
    """The files in `path` under a name matching `writes` that are not as the manifest
    records them (the user's, changed since, or written by a version that kept no record)."""
    folder = OutputFolder(path, None)
    recorded, logs = folder._records()[0], folder._appended()
    files, _ = snapshot(path, sorted({p.split("/")[0] for p in writes if "/" in p}))
    return sorted(
        rel
        for rel, stamp in files.items()
        if matches(rel, writes) and not folder._ours(rel, stamp, recorded, logs)
    )


def refuse_unrecorded(path, tool, writes, action):
    """OutputDirError naming the files of :func:`unrecorded` when there are any."""
    blocking = unrecorded(path, writes)
    if blocking:
        shown = ", ".join(blocking[:5]) + (" ..." if len(blocking) > 5 else "")
        why = (
            "not recorded as written by it: yours, or written by a version that kept no record"
            if not os.path.isfile(os.path.join(path, MANIFEST))
            else "not recorded as written by it, or changed since"
        )
        raise OutputDirError(
            f"{path}: holds {shown} ({why}), which {tool} would write over; {action}, so move "
            "those or choose another folder"
        )


def replace_recorded_outputs(path, tool, writes, inputs=()):
    """Clear `tool`'s earlier run out of `path` for a new one (``train_net.py --overwrite``):
    remove the files its manifest records and that are as it left them, then its recorded
    folders that are empty. Everything else stays: files the user added (``notes.md``,
    ``inference/my_plot.png``), files the run wrote that were changed since.

    Nothing is removed when the new run would write over a file that stays (a name matching
    `writes`: a checkpoint it did not record, a log edited since): that is an error naming them.

    Raises:
        OutputDirError: `path` is not marked as `tool`'s, holds one of `inputs`, or keeps a file
            under a name the run writes.
    """
    _check_writable(path)
    _refuse_inputs(path, inputs)
    if marker_tool(path) != tool:
        raise OutputDirError(
            f"{path}: not an output folder of {tool} (it has no {MARKER} marker naming it), "
            f"so --overwrite will not touch it; choose an empty or new folder"
        )
    refuse_unrecorded(path, tool, writes, "--overwrite removes only the files it recorded writing")
    OutputFolder(path, tool)._remove_recorded()


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
    try:
        os.makedirs(path, exist_ok=True)
        write_marker(path, tool)
    except OSError as e:
        raise OutputDirError(f"{path}: cannot write there ({e.strerror})") from e
    return path
