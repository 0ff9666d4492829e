"""The orders function only validates; it reads and writes no AWS resource (the workflow stores the order)."""
