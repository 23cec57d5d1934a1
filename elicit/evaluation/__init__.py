"""Batch evaluation of a chain over labelled questions into resumable JSONL."""
