"""Reading the cloud assembly: stacks in dependency order, their templates and their asset directories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localaws.deploy.assembly import AssemblyNotFoundError, read_assembly, template_fingerprint
from localaws.deploy.deployer import TemplateDeployer
from tests.localaws.deploy.support import write_assembly


def test_missing_assembly_says_to_synth(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given / When / Then: no manifest.json → a clear instruction
    with pytest.raises(AssemblyNotFoundError, match="make synth"):
        deployer.deploy(tmp_path / "nothing")


def test_stacks_come_in_dependency_order_with_their_assets(tmp_path: Path) -> None:
    # Given an assembly whose first stack depends on the second, and an asset manifest
    cdk_out = tmp_path / "cdk.out"
    write_assembly(cdk_out, {"Resources": {}}, stack="Base")
    (cdk_out / "App.template.json").write_text(json.dumps({"Resources": {}}))
    (cdk_out / "App.assets.json").write_text(
        json.dumps({"files": {"abc123": {"source": {"path": "asset.abc123"}}}})
    )
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    base = manifest["artifacts"].pop("Base")
    manifest["artifacts"] = {
        "App": {
            "type": "aws:cloudformation:stack",
            "properties": {"templateFile": "App.template.json", "stackName": "app-local"},
            "dependencies": ["Base", "App.assets"],
        },
        "Base": base,
        "App.assets": {"type": "cdk:asset-manifest", "properties": {"file": "App.assets.json"}},
    }
    (cdk_out / "manifest.json").write_text(json.dumps(manifest))

    # When it is read
    stacks = read_assembly(cdk_out)

    # Then the dependency comes first, the stack name wins over the artifact id, and assets are found
    assert [s.name for s in stacks] == ["Base", "app-local"]
    assert stacks[1].depends_on == ("Base",)
    assert stacks[1].asset_dirs == {"abc123": cdk_out / "asset.abc123"}


def test_fingerprint_changes_when_a_template_is_rewritten(tmp_path: Path) -> None:
    # Given a synthesized assembly and its fingerprint
    cdk_out = write_assembly(tmp_path / "cdk.out", {"Resources": {}})
    before = template_fingerprint(cdk_out)

    # When the template is written again, later
    template = cdk_out / "HandStack.template.json"
    os.utime(template, (template.stat().st_atime, template.stat().st_mtime + 5))

    # Then the fingerprint differs
    assert template_fingerprint(cdk_out) != before
    assert {name for name, _ in before} == {"manifest.json", "HandStack.template.json"}
