"""Small JSON documents that name their format and version: fusion heads, answer probes, certificates.

Each is a pydantic model that a later elicit may have to refuse: a file of another kind, of
an older layout, or with a field out of range is named with its path and what is wrong, and
with what to do about it, before any of its numbers are used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ValidationError


class VersionedFile(BaseModel):
    """A document with ``format`` and ``format_version`` fields, checked before the rest of it.

    A subclass gives both fields its own defaults, the error it raises (``file_error``), what
    the document is called in messages (``kind``) and how to make a current one (``remedy``);
    :meth:`check_consistency` is its place for consistency the schema alone cannot express.
    """

    format: str
    format_version: int
    file_error: ClassVar[type[ValueError]] = ValueError
    kind: ClassVar[str] = "file"
    remedy: ClassVar[str] = "write it again with this version"

    def write(self, path: str | Path) -> None:
        """Write the document as indented JSON."""
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """Read and check a document written by :meth:`write`, naming what is wrong with another file."""
        error = cls.file_error
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise error(f"{path}: cannot be read ({exc})") from exc
        except ValueError as exc:
            raise error(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise error(f"{path}: expected a JSON object, got {type(raw).__name__}")
        name, version = cls.model_fields["format"].default, cls.model_fields["format_version"].default
        if raw.get("format") != name:
            raise error(f"{path}: format is {raw.get('format')!r}, expected {name!r}")
        if raw.get("format_version") != version:
            raise error(
                f"{path}: unsupported format_version {raw.get('format_version')!r}; this version of elicit "
                f"reads version {version} ({cls.remedy})"
            )
        try:
            document = cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise error(f"{path}: invalid {cls.kind}: {problems}") from exc
        document.check_consistency(path)
        return document

    def check_consistency(self, path: str | Path) -> None:
        """Raise ``file_error`` naming ``path`` when the fields disagree with each other (none by default)."""
