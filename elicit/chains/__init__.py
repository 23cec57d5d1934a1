"""LangChain Runnables that answer with a confidence: ConfidenceChain and the chat wrapper."""

from elicit.chains.confidence import ConfidenceChain, default_confidence, served_chain
from elicit.chains.wrapper import ConfidenceWrapper, with_confidence

__all__ = ["ConfidenceChain", "ConfidenceWrapper", "default_confidence", "served_chain", "with_confidence"]
