"""Lambda functions run for real: warm worker processes (``runtime``) each running one handler (``worker``).

Kept import-light on purpose: ``localaws.lambda_.worker`` runs inside every worker process.
"""
