"""Scoring one sample set: the signal registry, the shared sample statistics, and the signal families."""
