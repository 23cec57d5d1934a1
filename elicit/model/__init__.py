"""The served model: the embedded default, starting or reusing vLLM, clients, the sync bridge."""
