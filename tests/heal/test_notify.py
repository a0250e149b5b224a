"""relight.heal.notify against a real local HTTP server: payload shapes, retries, give-up logging, no blocking."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relight import __version__
from relight.heal import delivery
from relight.heal.events import Event
from relight.heal.notify import Notifier, slack_payload, webhook_payload

SLACK_PATH = "/services/T0000/B0000/SeCrEtToKeN123"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # wait until the test releases the server (or 5 s)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """A recording HTTP server on 127.0.0.1; queued replies first, then 200 "ok"."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.replies: deque[Reply] = deque()
        self.release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with server.lock:
                    server.requests.append(Seen(self.path, dict(self.headers.items()), body, time.monotonic()))
                    reply = server.replies.popleft() if server.replies else Reply()
                if reply.hang:
                    server.release.wait(5)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def queue(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def make_event(**overrides: Any) -> Event:
    base: dict[str, Any] = {
        "kind": "recovered",
        "incident_id": "inc-20250101-0001",
        "stack": "github-enterprise",
        "what_happened": "The EC2 instance aws_instance.ghe_node vanished.",
        "what_was_done": "Re-created the instance and re-attached the data volume; health check passed.",
        "at": "2025-01-01T12:00:12Z",
        "addresses": ("aws_instance.ghe_node",),
        "time_to_recover": 12.3,
        "config_revision": "0123456789abcdef0123456789abcdef01234567",
        "details": {"region": "eu-west-1"},
    }
    base.update(overrides)
    return Event(**base)


def fast(**kwargs: Any) -> Notifier:
    kwargs.setdefault("retries", 3)
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("timeout", 2.0)
    return Notifier(**kwargs)


# -- bodies on the wire -----------------------------------------------------------------------


def test_slack_and_webhook_bodies_arrive(server: Server) -> None:
    log = Log()
    n = fast(slack_url=server.url(SLACK_PATH), webhook_url=server.url("/hook"), log=log, headers={"X-Token": "t0k"})
    assert n.enabled
    n.send(make_event())
    assert n.flush(3)
    n.close()
    assert (n.delivered, n.failed) == (2, 0)
    assert log.lines == []

    by_path = {r.path: r for r in server.requests}
    slack, hook = by_path[SLACK_PATH], by_path["/hook"]
    for req in (slack, hook):
        assert req.headers["Content-Type"] == "application/json"
        assert req.headers["User-Agent"] == f"relight/{__version__}"
    assert hook.headers["X-Token"] == "t0k"
    assert "X-Token" not in slack.headers  # extra headers are for the webhook only

    body = slack.json()
    assert body["text"] == "relight: recovered github-enterprise in 12.3s (aws_instance.ghe_node)"
    header, summary, facts, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Recovered: github-enterprise"}}
    assert summary["type"] == "section"
    assert summary["text"]["type"] == "mrkdwn"
    assert "vanished" in summary["text"]["text"] and "Re-created the instance" in summary["text"]["text"]
    assert facts["type"] == "section"
    fields = {f["text"].split("\n", 1)[0]: f["text"].split("\n", 1)[1] for f in facts["fields"]}
    assert fields == {
        "*Incident*": "inc-20250101-0001",
        "*Objects*": "aws_instance.ghe_node",
        "*Time to recover*": "12.3 s",
        "*Config revision*": "0123456789ab",
        "*At*": "2025-01-01T12:00:12Z",
    }
    assert context["type"] == "context"
    assert "2025-01-01T12:00:12Z" in context["elements"][0]["text"]

    assert hook.json() == {
        "source": "relight",
        "version": 1,
        "event": {
            "kind": "recovered",
            "incident_id": "inc-20250101-0001",
            "stack": "github-enterprise",
            "what_happened": "The EC2 instance aws_instance.ghe_node vanished.",
            "what_was_done": "Re-created the instance and re-attached the data volume; health check passed.",
            "at": "2025-01-01T12:00:12Z",
            "addresses": ["aws_instance.ghe_node"],
            "time_to_recover": 12.3,
            "config_revision": "0123456789abcdef0123456789abcdef01234567",
            "details": {"region": "eu-west-1"},
        },
    }


def test_slack_payload_per_kind_and_optional_fields() -> None:
    detected = slack_payload(
        make_event(
            kind="detected", time_to_recover=None, config_revision=None, addresses=tuple(f"a.r{i}" for i in range(13))
        )
    )
    assert detected["blocks"][0]["text"]["text"] == "Objects vanished: github-enterprise"
    labels = [f["text"].split("\n")[0] for f in detected["blocks"][2]["fields"]]
    assert labels == ["*Incident*", "*Objects*", "*Detected*"]
    objects = detected["blocks"][2]["fields"][1]["text"].split("\n")[1:]
    assert objects == [f"a.r{i}" for i in range(10)] + ["and 3 more"]
    assert detected["text"] == "relight: objects vanished in github-enterprise (a.r0, a.r1, a.r2, +10 more)"

    assert slack_payload(make_event(kind="failed"))["blocks"][0]["text"]["text"] == "Recovery failed: github-enterprise"
    assert slack_payload(make_event(kind="drift"))["blocks"][0]["text"]["text"] == "Drift detected: github-enterprise"
    assert (
        slack_payload(make_event(kind="blocked"))["blocks"][0]["text"]["text"] == "Recovery blocked: github-enterprise"
    )

    slow = slack_payload(make_event(time_to_recover=125.0))
    assert "*Time to recover*\n2 min 5 s" in [f["text"] for f in slow["blocks"][2]["fields"]]
    assert "in 2m 5s" in slow["text"]


def test_user_text_cannot_mention_or_link() -> None:
    body = slack_payload(make_event(what_happened="<!channel> look at <http://evil|this> & that"))
    text = body["blocks"][1]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp; that" in text


def test_webhook_payload_shape() -> None:
    event = make_event(kind="failed", addresses=("a.b", "c.d"))
    assert webhook_payload(event) == {"source": "relight", "version": 1, "event": event.to_json()}


# -- retries and failures -----------------------------------------------------------------------


def test_retries_then_success_is_logged(server: Server) -> None:
    server.queue(Reply(500), Reply(503))
    log = Log()
    n = fast(webhook_url=server.url(), log=log, backoff=0.05)
    n.send(make_event())
    assert n.flush(3)
    assert len(server.requests) == 3
    assert (n.delivered, n.failed) == (1, 0)
    assert len(log.lines) == 1 and "delivered after 3 attempts (earlier: HTTP 503" in log.lines[0]
    gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095  # exponential: 0.05 then 0.1
    n.close()


def test_gives_up_after_retries_without_leaking_the_url(server: Server) -> None:
    server.queue(*[Reply(500, b"boom")] * 10)
    log = Log()
    n = fast(slack_url=server.url(SLACK_PATH), log=log, retries=2)
    n.send(make_event(kind="failed", incident_id="inc-42"))
    assert n.flush(3)
    assert len(server.requests) == 3  # one attempt plus two retries
    assert (n.delivered, n.failed) == (0, 1)
    assert len(log.lines) == 1
    line = log.lines[0]
    assert "Slack" in line and f"127.0.0.1:{server.port}" in line
    assert "failed" in line and "inc-42" in line and "HTTP 500" in line and "gave up" in line
    assert "SeCrEtToKeN123" not in line and "/services" not in line
    n.close()


def test_400_is_not_retried(server: Server) -> None:
    server.queue(Reply(400, b"invalid_payload"))
    log = Log()
    n = fast(webhook_url=server.url(), log=log)
    n.send(make_event())
    assert n.flush(3)
    assert len(server.requests) == 1
    assert n.failed == 1
    assert "HTTP 400: invalid_payload" in log.text and "not retried" in log.text
    n.close()


def test_429_honours_retry_after(server: Server) -> None:
    server.queue(Reply(429, headers={"Retry-After": "0.3"}))
    log = Log()
    n = fast(webhook_url=server.url(), log=log, backoff=0.001)
    n.send(make_event())
    assert n.flush(3)
    assert len(server.requests) == 2 and n.delivered == 1
    assert server.requests[1].at - server.requests[0].at >= 0.25
    n.close()


def test_429_retry_after_is_capped(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "RETRY_AFTER_CAP", 0.05)
    server.queue(Reply(429, headers={"Retry-After": "3600"}))
    n = fast(webhook_url=server.url(), log=Log(), backoff=0.001)
    n.send(make_event())
    assert n.flush(2)
    assert n.delivered == 1 and server.requests[1].at - server.requests[0].at < 1
    n.close()


def test_refused_connection_is_logged_and_never_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = Log()
    n = fast(webhook_url=f"http://127.0.0.1:{port}/secret-path", log=log, retries=1)
    n.send(make_event(incident_id="inc-7"))
    assert n.flush(3)
    assert (n.delivered, n.failed) == (0, 1)
    assert len(log.lines) == 1 and "inc-7" in log.lines[0] and "refused" in log.lines[0].lower()
    assert "secret-path" not in log.lines[0]
    n.close()


def test_send_never_blocks_and_flush_times_out_while_the_server_hangs(server: Server) -> None:
    server.queue(*[Reply(hang=True)] * 5)
    n = fast(slack_url=server.url(SLACK_PATH), webhook_url=server.url(), log=Log(), timeout=3.0)
    slowest = 0.0
    for i in range(5):
        started = time.perf_counter()
        n.send(make_event(incident_id=f"inc-{i}"))
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.05
    started = time.monotonic()
    assert n.flush(0.2) is False
    assert time.monotonic() - started < 1
    assert n.pending > 0
    server.release.set()
    assert n.flush(3) is True
    assert (n.delivered, n.failed) == (10, 0)
    n.close()


def test_close_gives_up_what_is_left(server: Server) -> None:
    server.queue(Reply(hang=True))
    log = Log()
    n = fast(webhook_url=server.url(), log=log, timeout=0.3, retries=0)
    n.send(make_event(incident_id="first"))
    n.send(make_event(incident_id="second"))
    n.close(timeout=0.05)
    assert n.flush(2)
    assert n.failed == 2 and "closed" in log.text
    n.send(make_event(incident_id="late"))
    assert n.failed == 3 and "late" in log.text
    server.release.set()


def test_disabled_notifier_does_nothing() -> None:
    n = Notifier(slack_url="", webhook_url=None)
    assert not n.enabled
    n.send(make_event())
    assert n.flush(0) and (n.delivered, n.failed) == (0, 0)
    n.close()


def test_unusable_url_is_logged_and_left_out_without_echoing_it(server: Server) -> None:
    log = Log()
    n = fast(slack_url="file:///etc/services/SeCrEt", webhook_url=server.url(), log=log)
    assert n.enabled
    assert len(log.lines) == 1 and "Slack notifications are off" in log.lines[0] and "SeCrEt" not in log.text
    n.send(make_event())
    assert n.flush(3) and n.delivered == 1 and [r.path for r in server.requests] == ["/hook"]
    n.close()
    assert not Notifier(webhook_url="hooks.example.com/x", log=Log()).enabled


def test_programming_errors_are_rejected_without_echoing_secrets() -> None:
    with pytest.raises(ValueError) as info:
        Notifier(webhook_url="http://example.com/h", headers={"Authorization": "Bearer x\r\nEvil: 1"})
    assert "Bearer" not in str(info.value)
    with pytest.raises(ValueError):
        Notifier(retries=-1)


# -- limits under arbitrary text ------------------------------------------------------------------

texts = st.text(max_size=5000) | st.text(alphabet="&<>\U0001f600\n \u00e9x", max_size=4000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    kind=st.sampled_from(["detected", "recovered", "failed", "drift", "blocked"]),
    incident_id=texts,
    stack=texts,
    what_happened=texts,
    what_was_done=texts,
    at=texts,
    addresses=st.lists(texts, max_size=14).map(tuple),
    time_to_recover=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    config_revision=st.none() | texts,
)
def test_slack_limits_hold_for_any_text(**fields: Any) -> None:
    body = slack_payload(Event(**fields))
    json.dumps(body)  # serialisable as is

    def units(s: str) -> int:
        return len(s.encode("utf-16-le")) // 2

    assert "\n" not in body["text"] and units(body["text"]) <= 3000
    header, summary, facts, context = body["blocks"]
    assert 1 <= units(header["text"]["text"]) <= 150
    assert 1 <= units(summary["text"]["text"]) <= 3000
    assert 1 <= len(facts["fields"]) <= 10
    for f in facts["fields"]:
        assert 1 <= units(f["text"]) <= 2000
    assert 1 <= units(context["elements"][0]["text"]) <= 3000
    for s in (header["text"]["text"], summary["text"]["text"], context["elements"][0]["text"]):
        assert len(s) <= units(s)
