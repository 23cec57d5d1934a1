"""A terminal chat that shows how much to trust each reply.

    .venv/bin/python examples/chatbot.py [--samples 5] [--threshold 0.5] [--max-tokens 96]

Uses the server at ELICIT_BASE_URL if set, else starts a local vLLM server for the embedded
model. The reply streams as it is generated; its confidence follows once the samples are in,
and replies below the threshold are flagged. The whole conversation is kept, so follow-up
questions ("and its population?") are answered, and scored, in context. Empty line or Ctrl-D quits.
"""

from __future__ import annotations

import argparse

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from elicit import chat_model, serve, with_confidence
from elicit.chains import ConfidenceChatModel

SYSTEM = "You are a helpful assistant. Answer briefly."


def reply(bot: ConfidenceChatModel, history: list[BaseMessage]) -> tuple[str, dict]:
    """Stream one reply to the terminal; return its text and confidence."""
    parts: list[str] = []
    confidence: dict = {}
    print("bot> ", end="", flush=True)
    for chunk in bot.stream(history):
        print(chunk.text, end="", flush=True)
        parts.append(chunk.text)
        confidence = chunk.response_metadata.get("confidence", confidence)
    print()
    return "".join(parts), confidence


def describe(confidence: dict) -> str:
    """One line: the confidence, the short answer it refers to, and a flag when it is low."""
    value = confidence["value"]
    shown = "unknown" if value is None else f"{100 * value:.0f}%"
    answer = f" for {confidence['answer']!r}" if confidence["answer"] else f": {confidence['reason']}"
    flag = "  LOW TRUST: check this answer elsewhere" if confidence["low_trust"] else ""
    return f"     [confidence {shown}{answer}]{flag}"


def chat(bot: ConfidenceChatModel) -> None:
    history: list[BaseMessage] = [SystemMessage(content=SYSTEM)]
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            return
        if not question:
            return
        history.append(HumanMessage(content=question))
        text, confidence = reply(bot, history)
        print(describe(confidence))
        history.append(AIMessage(content=text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="confidence samples per reply (one request)")
    parser.add_argument("--threshold", type=float, default=0.5, help="flag replies below this confidence")
    parser.add_argument("--max-tokens", type=int, default=96, help="longest reply")
    args = parser.parse_args()
    with serve() as server:
        llm = chat_model(server, max_tokens=args.max_tokens)
        bot = with_confidence(llm, n_samples=args.samples, threshold=args.threshold)
        print(f"chatting with {server.model_name} at {server.base_url} (empty line to quit)")
        chat(bot)


if __name__ == "__main__":
    main()
