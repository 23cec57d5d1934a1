"""The prompt strategies, each defined once: its instruction, its reply format, its budget, how it samples.

They follow Xiong et al. 2024 ("Can LLMs Express Their Uncertainty?"): vanilla, chain of
thought, top-k and multi-step verbalized confidence, and misleading hints as a sampling
perturbation. Everything that depends on the strategy (the prompt, the parser, the
few-shot replies, the default ``max_tokens``, whether samples come from one request or one
request per hint) reads it from here, so a new strategy is one entry in ``STRATEGIES``.
"""

from __future__ import annotations

from dataclasses import dataclass

from elicit.elicitation.formats import EXPLAINED, LABELED, MULTISTEP, TOPK, OutputFormat


@dataclass(frozen=True)
class Strategy:
    """One way of asking.

    ``template`` is the instruction file beside the prompts (``vanilla.txt``, ...);
    ``format`` how replies look; ``max_tokens`` the default generation budget, long enough
    for the format's fields; ``hinted`` strategies send one request per misleading hint,
    each suggesting a wrong answer, instead of drawing every sample in one request.
    """

    name: str
    summary: str
    template: str
    format: OutputFormat
    max_tokens: int
    hinted: bool = False


STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy("vanilla", "an answer and a stated confidence", "vanilla.txt", LABELED, 48),
        Strategy("cot", "a short explanation first, then the answer and confidence", "cot.txt", EXPLAINED, 96),
        Strategy("topk", "the k best guesses, each with a probability", "topk.txt", TOPK, 64),
        Strategy("multistep", "steps with a confidence each, then the answer", "multistep.txt", MULTISTEP, 128),
        Strategy(
            "hint", "vanilla, with a misleading hint suggesting a wrong answer in each request", "vanilla.txt",
            LABELED, 48, hinted=True,
        ),
    )
}  # fmt: skip
"""Every strategy by name, in the order the command line lists them."""


def strategy(name: str) -> Strategy:
    """The strategy called ``name``; an unknown name is refused, naming the valid ones."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name]
