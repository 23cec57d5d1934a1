"""Asking and reading: prompt templates, sampling requests, lenient parsing of replies."""
