"""elicit: how much to trust an LLM's answer.

Verbalized, sampling-consistency, token-probability and P(True) confidence signals from one
set of samples of a local vLLM model, fused into one calibrated confidence.

The public names below are imported on first use (``from elicit import ConfidenceChain``
loads LangChain then, not ``import elicit``), so the command line and light uses start fast.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_HOMES = {
    "FusionHead": "elicit.calibration.head",
    "ConfidenceChain": "elicit.chains",
    "default_confidence": "elicit.chains",
    "ConfidenceChatModel": "elicit.chains.chat_model",
    "with_confidence": "elicit.chains.chat_model",
    "certify_threshold": "elicit.calibration.risk_control",
    "Certificate": "elicit.calibration.certificate",
    "ConversationScorer": "elicit.chains.conversation",
    "answers_match": "elicit.elicitation.matching",
    "exact_match": "elicit.elicitation.matching",
    "match_any": "elicit.elicitation.matching",
    "normalize_answer": "elicit.elicitation.matching",
    "same_answer": "elicit.elicitation.matching",
    "token_f1": "elicit.elicitation.matching",
    "reply_claim": "elicit.elicitation.claims",
    "parse_sample": "elicit.elicitation.parsing",
    "STRATEGIES": "elicit.elicitation.strategies",
    "PromptSet": "elicit.elicitation.prompts",
    "CompletionClient": "elicit.model.client",
    "chat_model": "elicit.model.client",
    "run_sync": "elicit.model.loop",
    "ServerHandle": "elicit.model.serving",
    "ServerUnreachable": "elicit.model.serving",
    "ServingError": "elicit.model.serving",
    "VLLMServer": "elicit.model.serving",
    "connect": "elicit.model.serving",
    "serve": "elicit.model.serving",
    "RetrievalRouter": "elicit.routing.router",
    "RoutedAnswer": "elicit.routing.router",
    "compute_signals": "elicit.signals.compute",
    "SIGNAL_NAMES": "elicit.signals.registry",
    "SignalSpec": "elicit.signals.spec",
    "Elicitation": "elicit.types",
    "Guess": "elicit.types",
    "Sample": "elicit.types",
    "Signals": "elicit.types",
    "TokenLogprob": "elicit.types",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'elicit' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
