"""elicit: how much to trust an LLM's answer.

Verbalized, sampling-consistency, token-probability and P(True) confidence signals from one
set of samples of a local vLLM model, fused into one calibrated confidence.
"""

from elicit.calibration.head import FusionHead
from elicit.chains import ConfidenceChain, default_confidence
from elicit.chains.wrapper import ConfidenceWrapper, with_confidence
from elicit.elicitation.matching import answers_match, exact_match, match_any, normalize_answer, same_answer, token_f1
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import STRATEGIES, PromptSet
from elicit.model.client import CompletionClient, chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle, ServerUnreachable, ServingError, VLLMServer, connect, serve
from elicit.routing.router import RetrievalRouter, RoutedAnswer
from elicit.signals.compute import compute_signals
from elicit.types import SIGNAL_NAMES, Elicitation, Guess, Sample, Signals, TokenLogprob

__version__ = "0.1.0"

__all__ = [
    "SIGNAL_NAMES",
    "STRATEGIES",
    "CompletionClient",
    "ConfidenceChain",
    "ConfidenceWrapper",
    "Elicitation",
    "FusionHead",
    "Guess",
    "PromptSet",
    "RetrievalRouter",
    "RoutedAnswer",
    "Sample",
    "ServerHandle",
    "ServerUnreachable",
    "ServingError",
    "Signals",
    "TokenLogprob",
    "VLLMServer",
    "answers_match",
    "exact_match",
    "same_answer",
    "token_f1",
    "chat_model",
    "compute_signals",
    "connect",
    "default_confidence",
    "match_any",
    "normalize_answer",
    "parse_sample",
    "run_sync",
    "serve",
    "with_confidence",
]
