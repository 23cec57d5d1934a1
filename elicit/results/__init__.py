"""The results pipelines: the runs behind every documented table, the tables, and the documents holding them."""
