"""moto's Batch package runs when something reads from it: not at the endpoint's import; whole when read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# A fresh interpreter: this test session has imported moto.batch (or not) already.
_CHILD = textwrap.dedent(
    """
    import json, sys
    import localaws.endpoint.server  # imports moto's Step Functions parser, which imports moto.batch.utils
    names = ("moto.batch", "moto.batch.utils", "moto.batch.models", "moto.ec2")
    before = {name: name in sys.modules for name in names}
    from moto.backends import get_backend
    from moto.batch.models import BatchBackend
    import moto.batch
    backends = get_backend("batch")
    print(json.dumps({
        "before": before,
        "same_backends": backends is moto.batch.batch_backends,
        "backend_class": type(backends["123456789012"]["us-east-1"]) is BatchBackend,
        "file": moto.batch.__file__,
        "utils_file": sys.modules["moto.batch.utils"].__file__,
        "ec2_after": "moto.ec2" in sys.modules,
    }))
    """
)


def test_moto_batch_runs_when_read_not_when_the_endpoint_is_imported() -> None:
    answer = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(answer.stdout.strip().splitlines()[-1])
    assert seen["before"] == {
        "moto.batch": True,
        "moto.batch.utils": True,
        "moto.batch.models": False,
        "moto.ec2": False,
    }
    assert seen["same_backends"] is True
    assert seen["backend_class"] is True
    assert seen["file"].endswith("moto/batch/__init__.py")
    assert seen["utils_file"].endswith("moto/batch/utils.py")
    assert seen["ec2_after"] is True
