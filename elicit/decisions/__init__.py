"""Confidence turned into action: an agent that answers, retrieves, or abstains on certified thresholds."""
