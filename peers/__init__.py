"""Other engines the project runs beside its own, each in its own pinned environment (LocalStack)."""
