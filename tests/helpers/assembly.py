"""The app's cloud assembly (``cdk.out``), synthesized when missing: no suite skips for lack of it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CDK_OUT = REPO / "cdk.out"
CDK = REPO / "node_modules" / ".bin" / "cdk"


def synthesized_app(cdk_out: Path = CDK_OUT) -> Path:
    """``cdk.out`` with its manifest: synthesized now if missing, or the test fails naming the command."""
    if (cdk_out / "manifest.json").is_file():
        return cdk_out
    if not CDK.is_file():
        pytest.fail(f"no synthesized app in {cdk_out} and no CDK CLI at {CDK}: run `make synth`")
    environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    done = subprocess.run(
        [str(CDK), "synth", "--quiet", "--output", str(cdk_out)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not (cdk_out / "manifest.json").is_file():
        pytest.fail(
            f"`cdk synth` failed (exit {done.returncode}); run `make synth` to see why:\n{done.stderr}"[:4000]
        )
    return cdk_out
