"""Reading a synthesized cloud assembly (``cdk.out/``): its stacks, their templates and their assets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AssemblyNotFoundError(FileNotFoundError):
    """There is no synthesized cloud assembly where we looked."""


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: dict[str, Any]
    assembly_dir: Path
    asset_dirs: dict[str, Path]  # asset hash → directory holding the unzipped asset
    depends_on: tuple[str, ...]


def read_assembly(cdk_out: Path) -> list[StackArtifact]:
    """Every stack in the cloud assembly (nested assemblies included), in dependency order."""
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyNotFoundError(
            f"no cloud assembly at {cdk_out} (missing manifest.json): run `make synth` first"
        )
    manifest = json.loads(manifest_path.read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks: list[StackArtifact] = []
    assets: dict[str, Path] = {}
    for artifact in artifacts.values():
        if artifact.get("type") == "cdk:asset-manifest":
            asset_manifest = json.loads((cdk_out / artifact["properties"]["file"]).read_text())
            for asset_hash, entry in asset_manifest.get("files", {}).items():
                assets[asset_hash] = cdk_out / entry["source"]["path"]
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly":
            stacks.extend(read_assembly(cdk_out / artifact["properties"]["directoryName"]))
        elif kind == "aws:cloudformation:stack":
            props = artifact["properties"]
            template = json.loads((cdk_out / props["templateFile"]).read_text())
            name = props.get("stackName") or artifact.get("displayName") or artifact_id
            depends = tuple(
                d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == kind
            )
            stacks.append(StackArtifact(name, template, cdk_out, assets, depends))
    return _order_stacks(stacks)


def _order_stacks(stacks: list[StackArtifact]) -> list[StackArtifact]:
    ordered: list[StackArtifact] = []
    by_name = {s.name: s for s in stacks}
    visiting: set[str] = set()

    def visit(stack: StackArtifact) -> None:
        if stack in ordered or stack.name in visiting:
            return
        visiting.add(stack.name)
        for dependency in stack.depends_on:
            if dependency in by_name:
                visit(by_name[dependency])
        ordered.append(stack)

    for stack in stacks:
        visit(stack)
    return ordered


def template_fingerprint(cdk_out: Path) -> tuple[tuple[str, float], ...]:
    """Modification times of the files a deploy reads; a change means a new synth happened."""
    files = [cdk_out / "manifest.json", *cdk_out.glob("*.template.json"), *cdk_out.glob("*.assets.json")]
    return tuple(sorted((f.name, f.stat().st_mtime) for f in files if f.exists()))
