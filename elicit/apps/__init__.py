"""Servers built on the chains: the OpenAI-compatible confidence proxy."""
