"""Readers for the archives that hold some of the real recordings inside Debian's media packages.

* GCompris (``gcompris-qt-data``) ships its media in Qt resource files, ``*.rcc``: a tree of
  nodes (big-endian; directories list their children, files point into a data block, some
  zlib-compressed) with UTF-16 names. :func:`read_rcc` returns one entry's bytes by its path.
* OpenTTD's sound set (``openttd-opensfx``) is one ``opensfx.cat``: a table of
  (offset, size) pairs (little-endian; the first offset is the table's size, with bit 31 set in the
  newer format), each entry a length-prefixed name and a WAV file. :func:`read_cat` returns one
  entry's name and bytes by its index.

The bytes are whole audio files (ogg, wav) for soundfile or PyAV to decode. Archives are read once
and kept (``functools.lru_cache``): the bank reads dozens of entries from a few files.
"""

import functools
import struct
import zlib

__all__ = ["ContainerError", "read_cat", "read_rcc", "rcc_entries"]


class ContainerError(ValueError):
    """An archive is not what its reader expects; the message names it."""


@functools.lru_cache(maxsize=16)
def rcc_entries(path):
    """``{entry path: bytes}`` of every file in a Qt ``.rcc``."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"qres":
        raise ContainerError(f"{path}: not a Qt resource file (.rcc)")
    version, tree, data, names = struct.unpack(">4I", b[4:20])
    node = 14 if version == 1 else 22  # version >= 2 adds a 64-bit modification time

    def name(offset):
        p = names + offset
        (n,) = struct.unpack(">H", b[p : p + 2])  # then a 32-bit hash, then UTF-16BE
        return b[p + 6 : p + 6 + 2 * n].decode("utf-16-be")

    out, stack = {}, [(0, "")]
    while stack:
        i, prefix = stack.pop()
        p = tree + i * node
        name_offset, flags = struct.unpack(">IH", b[p : p + 6])
        path_i = prefix if i == 0 else f"{prefix}/{name(name_offset)}".lstrip("/")
        if flags & 2:  # a directory: child count, first child
            count, first = struct.unpack(">II", b[p + 6 : p + 14])
            stack += [(c, path_i) for c in range(first, first + count)]
            continue
        (offset,) = struct.unpack(">I", b[p + 10 : p + 14])
        q = data + offset
        (size,) = struct.unpack(">I", b[q : q + 4])
        blob = b[q + 4 : q + 4 + size]
        if flags & 1:  # qCompress: a 32-bit length, then zlib
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            raise ContainerError(f"{path}: {path_i} is zstd-compressed, which is not read here")
        out[path_i] = bytes(blob)
    return out


def read_rcc(path, entry):
    """The bytes of `entry` (its path inside the archive) in the ``.rcc`` at `path`."""
    entries = rcc_entries(path)
    if entry not in entries:
        raise ContainerError(f"{path}: holds no {entry}")
    return entries[entry]


@functools.lru_cache(maxsize=4)
def _cat_entries(path):
    with open(path, "rb") as f:
        b = f.read()
    (first,) = struct.unpack("<I", b[:4])
    n = (first & 0x7FFFFFFF) // 8
    if n == 0 or n * 8 > len(b):
        raise ContainerError(f"{path}: not an OpenTTD sound set (.cat)")
    out = []
    for i in range(n):
        offset, size = struct.unpack("<II", b[8 * i : 8 * i + 8])
        offset &= 0x7FFFFFFF
        k = b[offset]
        name = b[offset + 1 : offset + 1 + k].split(b"\0")[0].decode("latin-1")
        out.append((name, bytes(b[offset + 1 + k : offset + size])))
    return out


def read_cat(path, index):
    """(name, WAV bytes) of entry `index` of an OpenTTD ``.cat`` sound set."""
    entries = _cat_entries(path)
    if not 0 <= index < len(entries):
        raise ContainerError(f"{path}: has {len(entries)} entries, no {index}")
    return entries[index]
