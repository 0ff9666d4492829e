"""Who may use the local endpoint: the user's own tools, and no web page but the endpoint's own.

The endpoint answers every AWS API without authentication, and binding to loopback does not keep a browser
out: any page the user has open can send requests to 127.0.0.1. Three checks keep those pages out.

- **Host.** A request must name the endpoint as it is (127.0.0.1, localhost or [::1], with its port) or by
  a name the user added. A page that rebinds its own DNS name to 127.0.0.1 still sends its own name as Host,
  so DNS rebinding is refused.
- **Origin.** Browsers add it to every cross-origin request, and no page can forge it. CORS is answered only
  for the endpoint's own origins and those the user added; a request from any other origin is refused
  whatever its method or content type, so "simple" requests (a form POST, ``fetch`` in no-cors mode), which
  a browser sends without a preflight, never run either.
- **Sec-Fetch-Site.** A cross-origin GET from an ``<img>`` or a GET form carries no Origin, and the query APIs
  (SQS, SNS) act on a GET. Browsers mark such a request ``cross-site`` or ``same-site`` (another port of
  127.0.0.1 is the same site); it is refused too, except a navigation to one of our pages (a link to the
  console).

Requests with neither Origin nor Sec-Fetch-Site (the AWS CLI, boto3, the CDK, curl, the Lambda workers) pass.
The CORS headers a client sees are ours alone: moto's Flask apps add Flask-CORS, which answers any origin,
so every ``Access-Control-*`` header from the application is dropped. No CORS library: the policy is a
handful of rules, and a library's defaults (allow every origin) are what we are removing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.sansio.utils import get_host, host_is_trusted
from werkzeug.wrappers import Request, Response

from localaws.endpoint.access_settings import (
    ALLOWED_HOST_OPTION,
    ALLOWED_HOSTS_ENV,
    CORS_ORIGIN_OPTION,
    CORS_ORIGINS_ENV,
    DISABLE_ORIGIN_CHECKS_ENV,
    DISABLE_ORIGIN_CHECKS_OPTION,
    AccessSettings,
)

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

logger = logging.getLogger(__name__)

# The names a browser or an SDK uses for a loopback endpoint, as they appear in Host (IPv6 in brackets).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# What moto serves; a preflight is answered for these only.
CORS_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH"
PREFLIGHT_MAX_AGE_SECONDS = 600
# Sec-Fetch-Site values of a request made by a page of another origin.
_OTHER_SITES = frozenset({"cross-site", "same-site"})
_TRAILING_PORT = re.compile(r":\d+$")

# scheme, host (lower case; IPv6 without brackets, as urlsplit gives it), port
Origin = tuple[str, str, int]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AccessSettingsError(ValueError):
    """An allowed host or a CORS origin that cannot be one (the message names it)."""


def parse_origin(text: str) -> Origin | None:
    """``scheme://host[:port]`` as a comparable origin, or None if ``text`` is not one (e.g. ``null``)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def normalized_host(header: str | None) -> str:
    """The Host header as werkzeug validates it (lower case, no ``:80``), or "" when missing or malformed."""
    if not header:
        return ""
    return get_host("http", header.strip().lower())


def own_hosts(port: int) -> tuple[str, ...]:
    return tuple(name if port == 80 else f"{name}:{port}" for name in LOOPBACK_NAMES)


def own_origins(port: int) -> frozenset[Origin]:
    return frozenset(("http", name.strip("[]"), port) for name in LOOPBACK_NAMES)


def is_same_origin(headers: Headers) -> bool:
    """Whether a browser sent this request from a page of the very origin it is sent to.

    Origin decides when present (browsers send it on every POST); otherwise Sec-Fetch-Site. A request with
    neither (curl, a script) is not known to be same-origin.
    """
    origin = headers.get("Origin")
    if origin is not None:
        host = normalized_host(headers.get("Host"))
        return bool(host) and parse_origin(origin) == parse_origin(f"http://{host}")
    return headers.get("Sec-Fetch-Site") == "same-origin"


def validate_settings(settings: AccessSettings) -> None:
    """Raise ``AccessSettingsError`` naming the first allowed host or CORS origin that cannot be one."""
    for name in settings.allowed_hosts:
        if not host_is_trusted(name.lower().removeprefix("."), None):
            raise AccessSettingsError(
                f"{ALLOWED_HOST_OPTION} {name!r} is not a host name (give a name such as orderflow, "
                "optionally with a leading dot for its subdomains, without a scheme)"
            )
    for origin in settings.cors_origins:
        if parse_origin(origin) is None:
            raise AccessSettingsError(
                f"{CORS_ORIGIN_OPTION} {origin!r} is not a web origin (give scheme://host[:port], "
                "e.g. http://localhost:3000)"
            )


@dataclass(frozen=True)
class Decision:
    """Whether a request is served; if not, why, in words that name the setting that would allow it."""

    allowed: bool
    reason: str = ""
    # The Origin to answer in Access-Control-Allow-Origin: set when the request came from an allowed origin.
    cors_origin: str | None = None


ALLOWED = Decision(allowed=True)


class AccessPolicy:
    """The endpoint's rules for one bound port: which Host names and which web origins it serves.

    ``pages`` are path prefixes of pages a user may follow a link to from another site (the console).
    """

    def __init__(
        self, *, port: int, settings: AccessSettings | None = None, pages: Iterable[str] = ()
    ) -> None:
        self.settings = settings or AccessSettings()
        validate_settings(self.settings)
        self.port = port
        self.hosts = own_hosts(port)
        self._extra_hosts = [name.lower() for name in self.settings.allowed_hosts]
        self._origins = own_origins(port) | {
            origin for origin in map(parse_origin, self.settings.cors_origins) if origin is not None
        }
        self._pages = tuple(pages)

    def decide(self, headers: Headers, *, method: str, path: str) -> Decision:
        """The decision for a request: its Host first, then where in a browser it comes from."""
        host = self.check_host(headers.get("Host"))
        if not host.allowed:
            return host
        return self.check_origin(
            headers.get("Origin"),
            fetch_site=headers.get("Sec-Fetch-Site"),
            fetch_mode=headers.get("Sec-Fetch-Mode"),
            method=method,
            path=path,
        )

    def check_host(self, header: str | None) -> Decision:
        host = normalized_host(header)
        if host in self.hosts or (self._extra_hosts and host and host_is_trusted(host, self._extra_hosts)):
            return ALLOWED
        if not header:
            return Decision(
                allowed=False,
                reason="refused a request without a Host header: every HTTP/1.1 client sends one "
                f"naming this endpoint ({', '.join(self.hosts)})",
            )
        name = _TRAILING_PORT.sub("", header.strip())
        return Decision(
            allowed=False,
            reason=f"refused Host {header!r}: this endpoint answers as {', '.join(self.hosts)}; "
            "another name may be a web page that rebound its DNS name to 127.0.0.1. To serve that name, "
            f"start the endpoint with {ALLOWED_HOST_OPTION} {name} (or {ALLOWED_HOSTS_ENV}={name})",
        )

    def check_origin(
        self,
        origin: str | None,
        *,
        fetch_site: str | None = None,
        fetch_mode: str | None = None,
        method: str = "GET",
        path: str = "/",
    ) -> Decision:
        if not self.settings.origin_checks:
            return Decision(allowed=True, cors_origin=origin)
        if origin is not None:
            if parse_origin(origin) in self._origins:
                return Decision(allowed=True, cors_origin=origin)
            return Decision(
                allowed=False,
                reason=f"refused a request from web origin {origin}: a page there could read and change "
                f"every local AWS resource. To allow it, start the endpoint with {CORS_ORIGIN_OPTION} "
                f"{origin} (or {CORS_ORIGINS_ENV}={origin}); to turn origin checks off, "
                f"{DISABLE_ORIGIN_CHECKS_OPTION} (or {DISABLE_ORIGIN_CHECKS_ENV}=1)",
            )
        if fetch_site in _OTHER_SITES and not self._is_link_to_a_page(fetch_mode, method, path):
            return Decision(
                allowed=False,
                reason=f"refused a request a web page of another origin made without CORS "
                f"(Sec-Fetch-Site: {fetch_site}, no Origin), e.g. from an <img> or a form. Pages of an "
                f"origin allowed with {CORS_ORIGIN_OPTION} must use fetch; to turn origin checks off, "
                f"{DISABLE_ORIGIN_CHECKS_OPTION} (or {DISABLE_ORIGIN_CHECKS_ENV}=1)",
            )
        return ALLOWED

    def _is_link_to_a_page(self, fetch_mode: str | None, method: str, path: str) -> bool:
        # A user following a link to the console from another site: reading a page changes nothing.
        return (
            fetch_mode == "navigate"
            and method in ("GET", "HEAD")
            and any(path == page or path.startswith(page + "/") for page in self._pages)
        )


def _without_cors(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """``start_response`` dropping the application's ``Access-Control-*`` headers (no origin to answer)."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        ours = [(key, value) for key, value in headers if not key.lower().startswith("access-control-")]
        return start_response(status, ours, exc_info)

    return start


def cors_headers(origin: str) -> list[tuple[str, str]]:
    """What an allowed origin's responses carry. No credentials: the endpoint uses no cookies."""
    return [
        ("Access-Control-Allow-Origin", origin),
        # The SDKs read x-amzn-requestid, ETag and the like from responses.
        ("Access-Control-Expose-Headers", "*"),
        ("Vary", "Origin"),
    ]


class AccessGuard:
    """WSGI middleware: refuses what the policy refuses (403, the reason in the body and the log), and is
    the only source of CORS headers."""

    def __init__(self, app: WSGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Not from a browser page (the SDKs, the CLI, the Lambda workers): with neither header the policy's
        # decision is its Host check's, read here without building a request object.
        if (
            "HTTP_ORIGIN" not in environ
            and "HTTP_SEC_FETCH_SITE" not in environ
            and self.policy.check_host(environ.get("HTTP_HOST")).allowed
        ):
            return self.app(environ, _without_cors(start_response))
        request = Request(environ)  # headers are read from environ on demand, the body is not touched
        decision = self.policy.decide(request.headers, method=request.method, path=request.path)
        if not decision.allowed:
            logger.warning("403 %s %s: %s", request.method, request.path, decision.reason)
            refusal = Response(decision.reason + "\n", status=403, mimetype="text/plain")
            answer: Iterable[bytes] = refusal(environ, start_response)
            return answer
        origin = decision.cors_origin
        if (
            origin is not None
            and request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
        ):
            preflight = Response(status=204, headers=self._preflight_headers(request, origin))
            answer = preflight(environ, start_response)
            return answer

        def start_with_our_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            ours = [(key, value) for key, value in headers if not key.lower().startswith("access-control-")]
            if origin is not None:
                ours.extend(cors_headers(origin))
            return start_response(status, ours, exc_info)

        return self.app(environ, start_with_our_cors)

    @staticmethod
    def _preflight_headers(request: Request, origin: str) -> list[tuple[str, str]]:
        headers = [
            *cors_headers(origin),
            ("Access-Control-Allow-Methods", CORS_METHODS),
            ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_SECONDS)),
        ]
        # The AWS SDKs send many x-amz-* headers; any header an allowed origin asks for is fine.
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            headers.append(("Access-Control-Allow-Headers", asked))
        return headers
