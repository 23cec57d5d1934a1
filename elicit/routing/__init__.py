"""Retrieve only when unsure: Thrust, embeddings, retrievers, the router and its evaluation."""
