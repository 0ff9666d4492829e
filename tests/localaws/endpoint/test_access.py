"""The endpoint's access policy and its WSGI guard, without a server: hosts, origins, CORS, refusals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from werkzeug.datastructures import Headers
from werkzeug.test import Client

from localaws.endpoint.access import (
    AccessGuard,
    AccessPolicy,
    AccessSettingsError,
    is_same_origin,
    parse_origin,
)
from localaws.endpoint.access_settings import AccessSettings, access_settings_from_arguments
from localaws.tools.cli import build_parser

PORT = 4599
OWN = f"http://127.0.0.1:{PORT}"


def policy(**settings: Any) -> AccessPolicy:
    return AccessPolicy(port=PORT, settings=AccessSettings(**settings), pages=("/_console",))


def request(
    policy: AccessPolicy,
    *,
    method: str = "POST",
    path: str = "/",
    host: str | None = f"127.0.0.1:{PORT}",
    **headers: str,
) -> Any:
    sent = Headers({name.replace("_", "-"): value for name, value in headers.items()})
    if host is not None:
        sent["Host"] = host
    return policy.decide(sent, method=method, path=path)


# -- Host -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}", f"LOCALHOST:{PORT}"]
)
def test_the_endpoints_own_names_with_its_port_are_served(host: str) -> None:
    # Given the default policy / When a request names the endpoint by a loopback name and its port
    decision = request(policy(), host=host)

    # Then it is served
    assert decision.allowed


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        f"attacker.example:{PORT}",
        "127.0.0.1:4566",
        "127.0.0.1",
        "localhost.:4599",
        "[::2]:4599",
    ],
)
def test_other_names_and_ports_are_refused_naming_the_option(host: str) -> None:
    # Given the default policy / When a request names another host, or the endpoint with another port
    decision = request(policy(), host=host)

    # Then it is refused, saying which option and variable would serve that name
    assert not decision.allowed
    assert f"refused Host {host!r}" in decision.reason
    assert "--allowed-host" in decision.reason and "ORDERFLOW_ALLOWED_HOSTS" in decision.reason


@pytest.mark.parametrize("host", [None, "", "bad host", "a/b"])
def test_a_missing_or_malformed_host_is_refused(host: str | None) -> None:
    # Given / When a request without a usable Host / Then it is refused
    assert not request(policy(), host=host).allowed


def test_on_port_80_the_host_may_omit_the_port() -> None:
    # Given an endpoint on port 80 (browsers omit the default port)
    on_80 = AccessPolicy(port=80)

    # When / Then: both spellings are its own, another port is not
    assert on_80.check_host("localhost").allowed
    assert on_80.check_host("localhost:80").allowed
    assert not on_80.check_host("localhost:8080").allowed


def test_added_host_names_are_served_at_any_port_and_a_leading_dot_adds_subdomains() -> None:
    # Given a docker-compose service name and a domain with its subdomains
    widened = policy(allowed_hosts=("orderflow", ".dev.example"))

    # When / Then
    assert widened.check_host("orderflow:4566").allowed
    assert widened.check_host("ORDERFLOW").allowed
    assert widened.check_host("api.dev.example:4599").allowed
    assert not widened.check_host("orderflow.evil.example").allowed
    assert widened.check_host(f"127.0.0.1:{PORT}").allowed  # its own names still


# -- Origin ---------------------------------------------------------------------------------------------


def test_requests_without_origin_are_served_without_cors_headers() -> None:
    # Given / When a request as the AWS CLI, boto3, the CDK or curl sends it (no Origin, no Sec-Fetch-*)
    decision = request(policy())

    # Then it is served, and there is no origin to answer
    assert decision.allowed and decision.cors_origin is None


@pytest.mark.parametrize("origin", [OWN, f"http://localhost:{PORT}", f"http://[::1]:{PORT}", f"{OWN}/"])
def test_the_endpoints_own_origins_are_answered(origin: str) -> None:
    # Given / When a page of the endpoint itself (under any loopback name) calls it
    decision = request(policy(), Origin=origin)

    # Then it is served, and CORS answers that very origin
    assert decision.allowed and decision.cors_origin == origin


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1:3000",  # another loopback port is another origin
        f"http://localhost:{PORT + 1}",
        f"https://127.0.0.1:{PORT}",
        "null",  # sandboxed frames and file:// pages
        "http://user@127.0.0.1:4599",
    ],
)
def test_any_other_origin_is_refused_naming_the_options(origin: str) -> None:
    # Given the default policy
    # When a page of another origin sends any request (a preflight, a simple POST, a GET)
    decisions = [request(policy(), method=m, Origin=origin) for m in ("OPTIONS", "POST", "GET")]

    # Then each is refused with the origin and both ways to allow it
    for decision in decisions:
        assert not decision.allowed and decision.cors_origin is None
        assert origin in decision.reason
        assert "--cors-origin" in decision.reason and "ORDERFLOW_CORS_ORIGINS" in decision.reason
        assert "--disable-origin-checks" in decision.reason


def test_added_cors_origins_are_answered_compared_as_browsers_send_them() -> None:
    # Given two added origins, one spelled with its default port and a trailing slash
    widened = policy(cors_origins=("http://localhost:3000", "https://App.example:443/"))

    # When / Then: the origins the browser sends for them are answered; others still refused
    assert request(widened, Origin="http://localhost:3000").cors_origin == "http://localhost:3000"
    assert request(widened, Origin="https://app.example").allowed
    assert not request(widened, Origin="http://app.example").allowed
    assert not request(widened, Origin="http://localhost:3001").allowed


def test_the_opt_out_answers_every_origin() -> None:
    # Given origin checks turned off
    open_policy = policy(origin_checks=False)

    # When / Then: a foreign origin is served and answered, a cross-site GET too; the Host check stays
    assert request(open_policy, Origin="http://evil.example").cors_origin == "http://evil.example"
    assert request(open_policy, method="GET", Sec_Fetch_Site="cross-site").allowed
    assert not request(open_policy, host="attacker.example", Origin=OWN).allowed


# -- Sec-Fetch-Site (requests a page makes without CORS, so without Origin) -----------------------------


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_no_cors_request_from_another_site_is_refused(site: str) -> None:
    # Given / When an <img> or a GET form of another page asks for a query API action
    decision = request(policy(), method="GET", path="/", Sec_Fetch_Site=site, Sec_Fetch_Mode="no-cors")

    # Then it is refused, saying how to turn the check off
    assert not decision.allowed
    assert site in decision.reason and "--disable-origin-checks" in decision.reason


@pytest.mark.parametrize("site", ["same-origin", "none"])
def test_the_users_own_and_typed_requests_pass(site: str) -> None:
    # Given / When a request from the endpoint's page, or one the user typed in the address bar
    # Then it is served
    assert request(policy(), method="GET", path="/_console/api/graph", Sec_Fetch_Site=site).allowed


def test_a_link_from_another_site_opens_the_console_but_not_an_api() -> None:
    # Given a link on another site
    def follow(method: str, path: str) -> bool:
        navigation = {"Sec_Fetch_Site": "cross-site", "Sec_Fetch_Mode": "navigate"}
        return bool(request(policy(), method=method, path=path, **navigation).allowed)

    # When / Then: it may open the console's page, not run an API action nor post a form to the console
    assert follow("GET", "/_console/")
    assert follow("GET", "/_console")
    assert not follow("GET", "/?Action=DeleteQueue&QueueUrl=q")
    assert not follow("GET", "/_consolex")
    assert not follow("POST", "/_console/api/orders")


# -- same origin (console actions) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "same"),
    [
        ({"Origin": OWN}, True),
        ({"Origin": f"{OWN}/"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Origin": f"http://localhost:{PORT}"}, False),  # an alias of the endpoint is still another origin
        ({"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, False),  # Origin decides
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({}, False),  # curl or a script: not known to be the page
    ],
)
def test_same_origin_means_the_page_of_the_host_asked(headers: dict[str, str], same: bool) -> None:
    # Given a request to 127.0.0.1 on the endpoint's port
    sent = Headers({"Host": f"127.0.0.1:{PORT}", **headers})

    # When / Then
    assert is_same_origin(sent) is same


# -- settings -------------------------------------------------------------------------------------------


def test_parse_origin_compares_as_browsers_serialize() -> None:
    # Given / When / Then: default ports, case and a trailing slash do not matter; paths are not origins
    assert (
        parse_origin("HTTP://LocalHost:80/") == parse_origin("http://localhost") == ("http", "localhost", 80)
    )
    assert parse_origin("http://[::1]:4566") == ("http", "::1", 4566)
    for not_an_origin in ("null", "localhost:3000", "http://a.example/path", "ftp://a.example", "http://a:x"):
        assert parse_origin(not_an_origin) is None


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (AccessSettings(cors_origins=("localhost:3000",)), "--cors-origin 'localhost:3000'"),
        (AccessSettings(cors_origins=("http://a.example/app",)), "--cors-origin"),
        (AccessSettings(allowed_hosts=("http://orderflow",)), "--allowed-host 'http://orderflow'"),
        (AccessSettings(allowed_hosts=("two words",)), "--allowed-host"),
    ],
)
def test_a_setting_that_cannot_be_a_host_or_origin_is_an_error_naming_it(
    settings: AccessSettings, named: str
) -> None:
    # Given / When / Then
    with pytest.raises(AccessSettingsError, match=named):
        AccessPolicy(port=PORT, settings=settings)


def test_options_add_to_the_environment() -> None:
    # Given the environment variables and the command line of `orderflow local up`
    environ = {
        "ORDERFLOW_ALLOWED_HOSTS": "orderflow, proxy.local",
        "ORDERFLOW_CORS_ORIGINS": "http://localhost:3000",
        "ORDERFLOW_DISABLE_ORIGIN_CHECKS": "",
    }
    args = build_parser().parse_args(
        ["local", "up", "--allowed-host", "orderflow", "--cors-origin", "http://localhost:5173"]
    )

    # When the settings are read
    settings = access_settings_from_arguments(args, environ)

    # Then both add up, each name once, and the checks stay on
    assert settings == AccessSettings(
        allowed_hosts=("orderflow", "proxy.local"),
        cors_origins=("http://localhost:3000", "http://localhost:5173"),
        origin_checks=True,
    )
    assert AccessSettings.from_environment({}) == AccessSettings()


@pytest.mark.parametrize(
    ("environ", "argv", "checks"),
    [
        ({"ORDERFLOW_DISABLE_ORIGIN_CHECKS": "1"}, [], False),
        ({"ORDERFLOW_DISABLE_ORIGIN_CHECKS": "true"}, [], False),
        ({"ORDERFLOW_DISABLE_ORIGIN_CHECKS": "0"}, [], True),
        ({}, ["--disable-origin-checks"], False),
    ],
)
def test_the_opt_out_is_explicit(environ: dict[str, str], argv: list[str], checks: bool) -> None:
    # Given / When the opt-out is given (or not) by the environment or the demo's command line
    args = build_parser().parse_args(["demo", *argv])

    # Then
    assert access_settings_from_arguments(args, environ).origin_checks is checks


# -- the guard (WSGI) -----------------------------------------------------------------------------------


class PermissiveApp:
    """Stands for moto behind the guard: answers everything, with Flask-CORS's allow-all header."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Access-Control-Allow-Origin", "*"),
                ("x-amzn-requestid", "r"),
            ],
        )
        return [b'{"TableNames": ["orders"]}']


def guarded(**settings: Any) -> tuple[Client, PermissiveApp]:
    inner = PermissiveApp()
    return Client(AccessGuard(inner, policy(**settings))), inner


HOST = {"Host": f"127.0.0.1:{PORT}"}
AMZ_JSON = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}


def test_a_foreign_preflight_gets_no_cors_headers_and_never_reaches_moto(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the guard in front of an app that would allow everything
    client, inner = guarded()
    caplog.set_level(logging.WARNING, logger="localaws.endpoint.access")

    # When a foreign page's preflight asks for content-type and x-amz-target
    response = client.options(
        "/",
        headers={
            **HOST,
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
    )

    # Then 403 with no Access-Control-* header, the reason in the body and in the log, and moto never asked
    assert response.status_code == 403
    assert not [k for k, _ in response.headers if k.lower().startswith("access-control-")]
    assert "--cors-origin http://evil.example" in response.get_data(as_text=True)
    assert inner.calls == []
    assert any("403 OPTIONS /: refused a request from web origin" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "content_type", ["application/x-amz-json-1.0", "text/plain", "application/x-www-form-urlencoded"]
)
def test_a_foreign_request_is_refused_whatever_its_content_type(content_type: str) -> None:
    # Given the guard
    client, inner = guarded()

    # When a foreign page posts, even as a "simple" request a browser sends without a preflight
    response = client.post(
        "/_console/api/orders",
        headers={**HOST, "Origin": "http://evil.example", "Content-Type": content_type},
        data='{"sample": "normal"}',
    )

    # Then it is refused before the app
    assert response.status_code == 403
    assert inner.calls == []


def test_a_foreign_host_is_refused_before_the_app() -> None:
    # Given the guard
    client, inner = guarded()

    # When a rebound DNS name reaches the endpoint
    response = client.post("/", headers={"Host": "attacker.example", **AMZ_JSON}, data="{}")

    # Then 403, naming the option, and no table was listed
    assert response.status_code == 403
    assert "--allowed-host attacker.example" in response.get_data(as_text=True)
    assert inner.calls == []


def test_an_own_origin_preflight_is_answered_by_the_guard() -> None:
    # Given the guard
    client, inner = guarded()

    # When the endpoint's own page (under its localhost alias) sends a preflight
    response = client.options(
        "/",
        headers={
            **HOST,
            "Origin": f"http://localhost:{PORT}",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target",
        },
    )

    # Then 204 with exactly that origin, the methods and the asked headers
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == f"http://localhost:{PORT}"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "content-type,x-amz-target"
    assert response.headers["Vary"] == "Origin"
    assert inner.calls == []


def test_cors_headers_are_the_guards_alone() -> None:
    # Given the guard in front of an app that adds Access-Control-Allow-Origin: *
    client, inner = guarded(cors_origins=("http://localhost:3000",))

    # When the AWS CLI (no Origin) and an allowed page call the API
    from_cli = client.post("/", headers={**HOST, **AMZ_JSON}, data="{}")
    from_page = client.post("/", headers={**HOST, **AMZ_JSON, "Origin": "http://localhost:3000"}, data="{}")

    # Then both are served; the CLI's answer has no CORS header, the page's names only its origin
    assert from_cli.status_code == from_page.status_code == 200
    assert "Access-Control-Allow-Origin" not in from_cli.headers
    assert from_page.headers.getlist("Access-Control-Allow-Origin") == ["http://localhost:3000"]
    assert from_cli.headers["x-amzn-requestid"] == "r"
    assert inner.calls == ["POST /", "POST /"]


@pytest.mark.parametrize(
    "host", [f"127.0.0.1:{PORT}", f"LOCALHOST:{PORT}", "attacker.example", "127.0.0.1:1", None]
)
@pytest.mark.parametrize(
    "browser",
    [
        {},
        {"Origin": f"http://localhost:{PORT}"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
@pytest.mark.parametrize("checks", [True, False])
def test_the_guard_serves_exactly_what_the_policy_allows(
    host: str | None, browser: dict[str, str], checks: bool
) -> None:
    # Given the guard (whose callers without Origin or Sec-Fetch-Site are decided by their Host alone)
    client, inner = guarded(origin_checks=checks)
    headers = {**AMZ_JSON, **browser, **({} if host is None else {"Host": host})}
    expected = request(
        policy(origin_checks=checks), host=host, **{k.replace("-", "_"): v for k, v in browser.items()}
    )

    # When the request is sent (werkzeug's client adds Host: localhost when none is given: sent bare instead)
    if host is None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": None}
        environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        started: list[str] = []
        AccessGuard(inner, policy(origin_checks=checks))(
            environ, lambda status, lines, exc=None: started.append(status)
        )
        status = int(started[0].split()[0])
    else:
        status = client.post("/", headers=headers, data="{}").status_code

    # Then it reaches the app exactly when the policy allows it, and is refused otherwise
    assert (status == 200) == expected.allowed
    assert (inner.calls == ["POST /"]) == expected.allowed
    assert status in (200, 403)
