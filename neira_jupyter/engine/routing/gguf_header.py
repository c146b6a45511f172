"""GGUF header metadata, read fast: scalars and strings, arrays skipped without decoding.

The ``gguf`` package supplies the format (magic, supported versions, value
types); a short cursor over the memory-mapped file reads the scalars and
steps over the arrays. ``gguf.GGUFReader`` itself decodes every array element
through numpy views: on the demo Gemma 3 GGUF (253 MB, a 262,144-token
vocabulary) it took 22-45 s here against about 0.15 s for this reader, with
identical scalar values (``benchmarks/bench_gguf.py``). Importing ``gguf``
costs about 0.6 s, so ``estimate`` imports this module only when it reads a file.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

from gguf import GGUF_MAGIC, READER_SUPPORTED_VERSIONS, GGUFValueType

__all__ = ["read_gguf_metadata"]

_SCALARS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The scalar and string key/values of a GGUF file's header (arrays are skipped, not read).

    Raises ``ValueError`` for a file that is not GGUF (v2 or v3), ``OSError``
    when it cannot be read.
    """
    with path.open("rb") as f:
        try:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # an empty file
            raise ValueError(f"{path.name} is not a GGUF file ({exc})") from exc
    with data:
        try:
            return _Header(data).metadata(path.name)
        except struct.error as exc:  # a read past the end
            raise ValueError(f"{path.name}: truncated GGUF header") from exc


class _Header:
    """A cursor over a memory-mapped GGUF header."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.take("<Q")
        if length > len(self.data) - self.at:
            raise ValueError("GGUF string runs past the end of the file")
        self.at += length
        return self.data[self.at - length : self.at].decode("utf-8", "replace")

    def metadata(self, name: str) -> dict[str, Any]:
        if self.take("<I") != GGUF_MAGIC:
            raise ValueError(f"{name} is not a GGUF file (bad magic)")
        version = self.take("<I")
        if version not in READER_SUPPORTED_VERSIONS:
            raise ValueError(f"{name}: unsupported GGUF version {version}")
        _tensors, count = self.take("<Q"), self.take("<Q")
        out: dict[str, Any] = {}
        for _ in range(count):
            key = self.string()
            kind = GGUFValueType(self.take("<I"))
            if kind is GGUFValueType.ARRAY:
                self.skip_array()
            else:
                out[key] = self.value(kind)
        return out

    def value(self, kind: GGUFValueType) -> Any:
        if kind is GGUFValueType.STRING:
            return self.string()
        return self.take("<" + _SCALARS[kind])

    def skip_array(self) -> None:
        kind, length = GGUFValueType(self.take("<I")), self.take("<Q")
        if kind is GGUFValueType.STRING:
            for _ in range(length):
                self.at += 8 + struct.unpack_from("<Q", self.data, self.at)[0]
        elif kind is GGUFValueType.ARRAY:
            for _ in range(length):
                self.skip_array()
        else:
            self.at += length * struct.calcsize(_SCALARS[kind])
