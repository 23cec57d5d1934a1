"""Content digests of model files: what names a set of weights, whatever folder it sits in.

A materialized model is checked against the digest of the file it was built from, and
cached hidden states are keyed by the digest of the weights that produced them, so one
implementation of "hash these files" serves both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

BLOCK = 1 << 20
"""Bytes read at a time: weight files are hundreds of megabytes."""


def files_sha256(paths: Iterable[Path]) -> str:
    """The sha256 of the files' contents, read in order as one stream."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                digest.update(block)
    return digest.hexdigest()
