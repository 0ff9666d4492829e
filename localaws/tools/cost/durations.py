"""Lambda durations the cost and the quotas use: measured on the local workers, from their REPORT lines."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

DURATIONS_FILE = Path(__file__).resolve().parent / "durations.json"
_REPORT = re.compile(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms")


@dataclass(frozen=True)
class Durations:
    median_ms: dict[str, float]  # service name (``services/<name>``) → ms per invocation
    how: str

    def seconds(self, service: str) -> float:
        if service not in self.median_ms:
            raise KeyError(f"no measured duration for the {service} function")
        return self.median_ms[service] / 1000


def recorded() -> Durations:
    data = json.loads(DURATIONS_FILE.read_text())
    return Durations({k: float(v) for k, v in data["median_ms"].items()}, how=data["about"])


def from_logs(directory: Path) -> Durations:
    """Medians from a run's ``<prefix>-<service>.log`` files; services without a log keep the recorded one."""
    if not directory.is_dir():
        raise FileNotFoundError(f"--lambda-logs: {directory} is not a directory")
    measured = dict(recorded().median_ms)
    counts: dict[str, int] = {}
    for log in sorted(directory.glob("*.log")):
        values = [float(v) for v in _REPORT.findall(log.read_text(errors="replace"))]
        service = log.stem.split("-", 1)[-1].replace("-", "_")
        if values and service in measured:
            measured[service] = statistics.median(values)
            counts[service] = len(values)
    if not counts:
        raise FileNotFoundError(f"--lambda-logs: no REPORT lines of a known function in {directory}/*.log")
    seen = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return Durations(measured, how=f"medians of the REPORT lines in {directory} (invocations: {seen})")
