"""Scoring one sample set: consistency, verbal and token-probability signals."""
