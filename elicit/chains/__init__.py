"""LangChain Runnables built on elicit's signals."""

from elicit.chains.confidence import ConfidenceChain, default_confidence
from elicit.chains.router import RetrievalRouter, RoutedAnswer
from elicit.chains.wrapper import ConfidenceWrapper, with_confidence

__all__ = [
    "ConfidenceChain",
    "ConfidenceWrapper",
    "RetrievalRouter",
    "RoutedAnswer",
    "default_confidence",
    "with_confidence",
]
