"""Resource names, derived once from the prefix, so that several people can deploy into one account."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = "orderflow"
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class InvalidPrefixError(ValueError):
    """The resource prefix cannot be used in every AWS resource name."""


@dataclass(frozen=True)
class Names:
    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise InvalidPrefixError(
                f"prefix {self.prefix!r}: use 2-21 lowercase letters, digits or '-', starting with a letter"
            )

    def __call__(self, name: str) -> str:
        """``<prefix>-<name>``; a FIFO name keeps its ``.fifo`` suffix at the end."""
        if name.endswith(".fifo"):
            return f"{self.prefix}-{name.removesuffix('.fifo')}.fifo"
        return f"{self.prefix}-{name}"

    def import_bucket(self, account: str, region: str) -> str:
        """Bucket names are global: the account and region keep each deployment's apart."""
        return self(f"imports-{account}-{region}")

    def dlq(self, queue_name: str) -> str:
        if queue_name.endswith(".fifo"):
            return self(f"{queue_name.removesuffix('.fifo')}-dlq.fifo")
        return self(f"{queue_name}-dlq")


def configured_prefix(cdk_json: Path = Path("cdk.json")) -> str:
    """The prefix in ``cdk.json``'s context (what `cdk synth` uses by default), else ``orderflow``."""
    if cdk_json.is_file():
        return str(json.loads(cdk_json.read_text()).get("context", {}).get("prefix", DEFAULT_PREFIX))
    return DEFAULT_PREFIX
