"""What the user lets into the local endpoint beyond its own tools: the options and environment variables.

The policy that applies these is ``localaws.endpoint.access``. This module is kept free of werkzeug and moto
because the CLI builds its parser from it, and the commands that only talk to an endpoint must start fast.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ALLOWED_HOSTS_ENV = "ORDERFLOW_ALLOWED_HOSTS"
CORS_ORIGINS_ENV = "ORDERFLOW_CORS_ORIGINS"
DISABLE_ORIGIN_CHECKS_ENV = "ORDERFLOW_DISABLE_ORIGIN_CHECKS"

ALLOWED_HOST_OPTION = "--allowed-host"
CORS_ORIGIN_OPTION = "--cors-origin"
DISABLE_ORIGIN_CHECKS_OPTION = "--disable-origin-checks"

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class AccessSettings:
    """Additions to the endpoint's default access: only its own names, origins and the user's tools.

    ``allowed_hosts``: more names the endpoint answers under (the port is not checked for these; a leading
    dot allows every subdomain). ``cors_origins``: web origins (``scheme://host[:port]``) whose pages may call
    the AWS APIs. ``origin_checks=False`` answers every origin: any web page open in the browser can then
    use every local resource.
    """

    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    origin_checks: bool = True

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AccessSettings:
        """``ORDERFLOW_ALLOWED_HOSTS`` and ``ORDERFLOW_CORS_ORIGINS`` (comma-separated), and the opt-out."""
        env = os.environ if environ is None else environ
        return cls(
            allowed_hosts=_split(env.get(ALLOWED_HOSTS_ENV, "")),
            cors_origins=_split(env.get(CORS_ORIGINS_ENV, "")),
            origin_checks=env.get(DISABLE_ORIGIN_CHECKS_ENV, "").strip().lower() not in _TRUE,
        )

    def adding(
        self,
        *,
        allowed_hosts: Iterable[str] = (),
        cors_origins: Iterable[str] = (),
        disable_origin_checks: bool = False,
    ) -> AccessSettings:
        """These settings with more names and origins (command-line options add to the environment's)."""
        return AccessSettings(
            allowed_hosts=_unique((*self.allowed_hosts, *allowed_hosts)),
            cors_origins=_unique((*self.cors_origins, *cors_origins)),
            origin_checks=self.origin_checks and not disable_origin_checks,
        )


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def add_access_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that starts the endpoint (``local up``, ``demo``)."""
    group = parser.add_argument_group(
        "access", "the endpoint serves only its own tools (AWS CLI, boto3, the CDK, its console) by default"
    )
    group.add_argument(
        ALLOWED_HOST_OPTION,
        action="append",
        default=[],
        metavar="NAME",
        help=f"also answer requests whose Host is NAME, e.g. a docker-compose service (repeatable; "
        f"also ${ALLOWED_HOSTS_ENV}, comma-separated)",
    )
    group.add_argument(
        CORS_ORIGIN_OPTION,
        action="append",
        default=[],
        metavar="ORIGIN",
        help=f"let web pages of ORIGIN (e.g. http://localhost:3000) call the AWS APIs (repeatable; "
        f"also ${CORS_ORIGINS_ENV}, comma-separated)",
    )
    group.add_argument(
        DISABLE_ORIGIN_CHECKS_OPTION,
        action="store_true",
        help=f"answer every web origin: any page open in your browser can then use the endpoint "
        f"(also ${DISABLE_ORIGIN_CHECKS_ENV}=1)",
    )


def access_settings_from_arguments(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> AccessSettings:
    """The environment's settings, with the command line's added."""
    return AccessSettings.from_environment(environ).adding(
        allowed_hosts=args.allowed_host,
        cors_origins=args.cors_origin,
        disable_origin_checks=args.disable_origin_checks,
    )
