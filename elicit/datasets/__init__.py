"""Question sets for elicit: built-in offline QA sets, user JSONL data and a retrieval corpus.

The built-in sets span a popularity axis (country capitals down to cities of 15,000
people) and a difficulty axis (arithmetic levels 1-5), which is what calibration needs:
questions the model surely knows, questions it surely does not, and everything between.
"""

from elicit.datasets.builtin import (
    BUILTIN_DATASETS,
    SPLITS,
    load_builtin,
    load_mix,
    sample,
    select_builtin,
    select_split,
    split_of,
)
from elicit.datasets.corpus import CORPUS_DATASETS, build_corpus
from elicit.datasets.items import DatasetError, Passage, QAItem
from elicit.datasets.jsonl import load_jsonl, save_jsonl

__all__ = [
    "BUILTIN_DATASETS",
    "CORPUS_DATASETS",
    "SPLITS",
    "DatasetError",
    "Passage",
    "QAItem",
    "build_corpus",
    "load_builtin",
    "load_jsonl",
    "load_mix",
    "sample",
    "save_jsonl",
    "select_builtin",
    "select_split",
    "split_of",
]
