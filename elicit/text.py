"""Text folding shared by datasets, answer matching and retrieval.

"São Paulo" and "Sao Paulo" must be one name to a grader, one key to a dataset and one
term to BM25; doing the folding in one place keeps the three from drifting apart.
"""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """Compatibility-decompose and drop combining marks: ``São`` -> ``Sao``, ``²`` -> ``2``."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
