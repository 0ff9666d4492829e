"""LocalStack in host mode (no Docker), a second Step Functions engine: for the workflow suite and the bench.

``pyproject.toml`` and ``uv.lock`` here pin its runtime, which needs CPython 3.13 and lives in its own venv
(``.localstack/venv``) so that its dependencies never meet ours; ``server.py`` starts and stops it on a free
loopback port.
"""
