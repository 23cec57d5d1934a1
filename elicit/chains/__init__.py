"""LangChain Runnables built on elicit's signals."""

from elicit.chains.confidence import ConfidenceChain, default_confidence

__all__ = ["ConfidenceChain", "default_confidence"]
