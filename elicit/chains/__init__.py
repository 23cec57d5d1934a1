"""LangChain Runnables that answer with a confidence: ConfidenceChain and the chat wrapper."""

from elicit.chains.chat_model import ConfidenceChatModel, with_confidence
from elicit.chains.confidence import ConfidenceChain, default_confidence, served_chain

__all__ = ["ConfidenceChain", "ConfidenceChatModel", "default_confidence", "served_chain", "with_confidence"]
