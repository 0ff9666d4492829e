"""The console's WSGI application: the page under ``/_console/`` and the JSON API under ``/_console/api/``."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.exceptions import Forbidden, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from localaws.console import actions, imports, readers
from localaws.console.graph import all_state_names, state_graph
from localaws.console.notifications import NotificationTap
from localaws.console.status_events import StatusEventTap
from localaws.endpoint.access import is_same_origin
from localaws.tools import orders

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from infra.naming import Names

logger = logging.getLogger(__name__)

CONSOLE_PATH = "/_console"
STATIC_DIR = Path(__file__).parent / "static"
_STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# Requests that change something; the page sends its token with each in this header.
ACTIONS = frozenset({"orders", "redrive"})
TOKEN_HEADER = "X-Orderflow-Console-Token"
# index.html carries this placeholder where the page reads its token.
_TOKEN_PLACEHOLDER = b"{{console-token}}"


class ConsoleApp:
    """Every request reads the endpoint afresh through ``clients(service)``; nothing is stored but caches.

    Actions (placing an order, redriving a message) are taken only from the console's own page: the request
    must be same-origin and carry ``token``, a secret made for this start and given only in the page. The
    endpoint's Origin checks already refuse other origins; this holds even where those are turned off or
    widened (``--cors-origin``), since a page of another origin can neither send a same-origin request nor
    read the page to learn the token.
    """

    def __init__(
        self, clients: Callable[[str], Any], *, names: Names, state_machine_arn: str | None = None
    ) -> None:
        self.token = secrets.token_urlsafe(32)
        self._client_factory = clients
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.names = names
        self._state_machine_arn = state_machine_arn
        self._graphs: dict[str, dict[str, Any]] = {}  # definition text → laid-out graph
        self._execution_reader: readers.ExecutionReader | None = None
        self.notifications = NotificationTap(self.client, names)
        self.status_events = StatusEventTap(self.client, names)
        self._routes = Map(
            [
                Rule(CONSOLE_PATH, endpoint="root"),
                Rule(f"{CONSOLE_PATH}/", endpoint="page"),
                Rule(f"{CONSOLE_PATH}/static/<name>", endpoint="static"),
                Rule(f"{CONSOLE_PATH}/api/overview", endpoint="overview"),
                Rule(f"{CONSOLE_PATH}/api/graph", endpoint="graph"),
                Rule(f"{CONSOLE_PATH}/api/executions", endpoint="executions"),
                Rule(f"{CONSOLE_PATH}/api/execution", endpoint="execution"),
                Rule(f"{CONSOLE_PATH}/api/resources", endpoint="resources"),
                Rule(f"{CONSOLE_PATH}/api/queue-messages", endpoint="queue_messages"),
                Rule(f"{CONSOLE_PATH}/api/imports", endpoint="imports"),
                Rule(f"{CONSOLE_PATH}/api/import", endpoint="import_report"),
                Rule(f"{CONSOLE_PATH}/api/orders", endpoint="orders", methods=["POST"]),
                Rule(f"{CONSOLE_PATH}/api/redrive", endpoint="redrive", methods=["POST"]),
            ],
            strict_slashes=False,
        )

    # -- plumbing -----------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        # boto3 creates clients unsafely across threads; one per service, made once, is shared.
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._client_factory(service)
            return self._clients[service]

    def start(self) -> None:
        """Start listening to the topics now (otherwise the first request does): call it after a deploy."""
        self.notifications.start()
        self.status_events.start()

    def close(self) -> None:
        self.notifications.stop()
        self.status_events.stop()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, arguments = self._routes.bind_to_environ(environ).match()
            if endpoint in ACTIONS:
                self._check_action(request)
            self.notifications.start()  # lazily: the endpoint may not serve yet when the app is made
            self.status_events.start()
            response = getattr(self, f"_{endpoint}")(request, **arguments)
        except (NotFound, MethodNotAllowed, Forbidden) as exc:
            response = _json({"error": exc.description}, status=exc.code or 404)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except actions.ConsoleActionError as exc:
            response = _json({"error": str(exc)}, status=400)
        except (ClientError, BotoCoreError) as exc:
            response = _json({"error": str(exc)}, status=502)
        except Exception as exc:
            logger.exception("console request %s failed", request.path)
            response = _json({"error": f"{type(exc).__name__}: {exc}"}, status=500)
        return response(environ, start_response)

    def _check_action(self, request: Request) -> None:
        if not is_same_origin(request.headers):
            source = (
                request.headers.get("Origin") or "no web page (no Origin, no Sec-Fetch-Site: same-origin)"
            )
            refused = (
                f"refused console action {request.path}: it is taken only from the console's own page "
                f"(a same-origin request), and this one came from {source}. "
                f"Open {CONSOLE_PATH}/ on this endpoint; no option allows other origins here"
            )
        elif not hmac.compare_digest(request.headers.get(TOKEN_HEADER, "").encode(), self.token.encode()):
            refused = (
                f"refused console action {request.path}: the {TOKEN_HEADER} header is missing or not this "
                "start's token (the console page carries it; reload the page after a restart)"
            )
        else:
            return
        logger.warning("403 %s %s: %s", request.method, request.path, refused)
        raise Forbidden(refused)

    # -- pages --------------------------------------------------------------------------------------

    def _root(self, request: Request) -> Response:
        return redirect(f"{CONSOLE_PATH}/")

    def _page(self, request: Request) -> Response:
        response = self._static(request, "index.html")
        # The token is in the page only: other origins can neither read the page nor guess the token.
        response.set_data(response.get_data().replace(_TOKEN_PLACEHOLDER, self.token.encode()))
        response.headers["Cache-Control"] = "no-store"
        return response

    def _static(self, request: Request, name: str) -> Response:
        path = STATIC_DIR / name
        if path.parent != STATIC_DIR or not path.is_file():
            raise NotFound(f"no file {name}")
        response = Response(path.read_bytes(), mimetype=_STATIC_TYPES.get(path.suffix, "text/plain"))
        response.headers["Cache-Control"] = "no-cache"
        return response

    # -- API ----------------------------------------------------------------------------------------

    def state_machine_arn(self) -> str | None:
        if self._state_machine_arn is None:
            self._state_machine_arn = readers.find_state_machine(self.client("stepfunctions"), self.names)
        return self._state_machine_arn

    def _required_state_machine(self) -> str:
        arn = self.state_machine_arn()
        if arn is None:
            raise NotFound(f"no state machine {self.names('order-workflow')} deployed (yet)")
        return arn

    def _reader(self) -> readers.ExecutionReader:
        if self._execution_reader is None:
            self._execution_reader = readers.ExecutionReader(self.client("stepfunctions"))
        return self._execution_reader

    def _overview(self, request: Request) -> Response:
        return _json(
            {
                "prefix": self.names.prefix,
                "stateMachineArn": self.state_machine_arn(),
                "samples": orders.sample_names(),
            }
        )

    def _graph(self, request: Request) -> Response:
        arn = self._required_state_machine()
        text = self.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
        if text not in self._graphs:
            definition = json.loads(text)
            self._graphs[text] = {
                "stateMachineArn": arn,
                "states": all_state_names(definition),
                "graph": state_graph(definition).to_json(),
            }
        return _json(self._graphs[text])

    def _executions(self, request: Request) -> Response:
        arn = self.state_machine_arn()
        if arn is None:
            return _json({"stateMachineArn": None, "executions": []})
        rows = self._reader().executions(
            arn,
            status=request.args.get("status") or None,
            order_id=request.args.get("orderId") or None,
            limit=min(int(request.args.get("limit", 100)), 1000),
        )
        return _json(
            {
                "stateMachineArn": arn,
                "executions": [
                    {
                        "arn": r.arn,
                        "name": r.name,
                        "status": r.status,
                        "start": r.start,
                        "stop": r.stop,
                        "durationSeconds": r.duration_seconds,
                        "orderId": r.order_id,
                    }
                    for r in rows
                ],
            }
        )

    def _execution(self, request: Request) -> Response:
        arn = request.args.get("arn")
        if not arn:
            raise NotFound("give ?arn=<execution ARN>")
        described, events, path = self._reader().execution(arn)
        answer = readers.execution_json(described, events, path)
        answer["statusEvents"] = self.status_events.events_for(arn)
        return _json(answer)

    def _resources(self, request: Request) -> Response:
        recent = self.notifications.recent()
        topics = self.notifications.topics()
        return _json(
            {
                "queues": [q.to_json() for q in readers.queues(self.client("sqs"), self.names)],
                "alarms": readers.alarms(self.client("cloudwatch"), self.names),
                "topics": [
                    {"arn": t, "name": t.rsplit(":", 1)[-1], "recent": recent.get(t, [])} for t in topics
                ],
                "analytics": _or_error(lambda: readers.analytics(self.client("dynamodb"), self.names)),
            }
        )

    def _queue_messages(self, request: Request) -> Response:
        queue = request.args.get("queue")
        if not queue:
            raise NotFound("give ?queue=<queue name>")
        return _json({"queue": queue, "messages": orders.peek_messages(self.client("sqs"), queue)})

    def _imports(self, request: Request) -> Response:
        bucket = imports.imports_bucket(self.client("sts"), self.client("s3"), self.names)
        return _json({"bucket": bucket, "imports": imports.recent_imports(self.client("s3"), bucket)})

    def _import_report(self, request: Request) -> Response:
        key = request.args.get("report")
        if not key:
            raise NotFound("give ?report=<processed/....report.json>")
        bucket = imports.imports_bucket(self.client("sts"), self.client("s3"), self.names)
        try:
            return _json(imports.import_report(self.client("s3"), bucket, key))
        except ValueError as exc:
            raise NotFound(str(exc)) from exc

    def _orders(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        placed = actions.place_sample_order(self.client("events"), self.names, str(body.get("sample", "")))
        return _json(placed, status=201)

    def _redrive(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        moved = actions.redrive_message(
            self.client("sqs"), self.names, str(body.get("queue", "")), body.get("messageId") or None
        )
        return _json(moved)


def _or_error(read: Callable[[], Any]) -> Any:
    """One missing resource (say the analytics table before a deploy) must not blank the whole page."""
    try:
        return read()
    except (ClientError, BotoCoreError) as exc:
        return {"error": str(exc)}


def _json(payload: Any, *, status: int = 200) -> Response:
    return Response(json.dumps(readers.plain(payload)), status=status, mimetype="application/json")


def make_console_app(
    clients: Callable[[str], Any], *, names: Names, state_machine_arn: str | None = None
) -> WSGIApplication:
    """The console, answering paths under ``/_console``; ``clients(service)`` gives boto3 clients."""
    return ConsoleApp(clients, names=names, state_machine_arn=state_machine_arn)


def mount_console(moto_wsgi_app: WSGIApplication, console_app: WSGIApplication) -> WSGIApplication:
    """One WSGI app: ``/_console*`` to the console, every other path to moto (the AWS APIs)."""

    def dispatch(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/"):
            return console_app(environ, start_response)
        return moto_wsgi_app(environ, start_response)

    return dispatch
