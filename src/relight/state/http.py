"""The ``http`` backend: state kept by a server that speaks Terraform's http backend protocol.

::

    terraform {
      backend "http" {
        address        = "https://relight.example.com/tfstate/ghe"
        lock_address   = "https://relight.example.com/tfstate/ghe"   # no lock_address: no locking
        unlock_address = "https://relight.example.com/tfstate/ghe"
        username       = "alice"
        password       = "rlt_..."   # or TF_HTTP_PASSWORD; relight's server takes an API token
      }
    }

The protocol is Terraform's: ``GET address`` returns the state (204 or 404: none yet), ``POST
address?ID=LOCK`` stores one, ``LOCK``/``UNLOCK`` (``lock_method``/``unlock_method``) on
``lock_address``/``unlock_address`` send Terraform's lock info JSON, and a held lock answers
423 (or 409) with the holder's lock info. The state travels in Terraform's format, converted by
the ``encode``/``decode`` functions the run layer passes in (they know the providers), so
Terraform itself can share the state. Settings come from the block, else Terraform's
``TF_HTTP_*`` variables. ``client_*_pem`` (TLS client certificates) are refused: not supported.

The journal (:class:`HttpJournal`) keeps the run's state in memory, applies each change record
to it and returns only once the whole state was stored by the server (calls on many threads
share one upload: the group commit of every journal): every provider call is durable at the
server before the next one starts, at the cost of one upload of the state per change (the
server keeps each as a version). The server keeps no journal of ours, so a run killed
mid-apply leaves the last stored state, which holds every change that had been answered. The
server's version history is not read through
this protocol: ``history`` is empty here (see the server's own pages).
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from relight.errors import StateError, StateLockedError
from relight.state.backend import VersionInfo
from relight.state.groupcommit import GroupCommitJournal
from relight.state.journal import apply_records
from relight.state.locks import LockInfo, lock_error_message
from relight.state.model import UNASSIGNED_LINEAGE, State

__all__ = ["HttpBackend", "HttpJournal", "HttpSettings", "http_settings"]

Encode = Callable[[State], bytes]
Decode = Callable[[bytes, str], State]

_SETTINGS = {
    "address": "TF_HTTP_ADDRESS",
    "update_method": "TF_HTTP_UPDATE_METHOD",
    "lock_address": "TF_HTTP_LOCK_ADDRESS",
    "unlock_address": "TF_HTTP_UNLOCK_ADDRESS",
    "lock_method": "TF_HTTP_LOCK_METHOD",
    "unlock_method": "TF_HTTP_UNLOCK_METHOD",
    "username": "TF_HTTP_USERNAME",
    "password": "TF_HTTP_PASSWORD",
    "skip_cert_verification": "",
    "retry_max": "TF_HTTP_RETRY_MAX",
    "retry_wait_min": "TF_HTTP_RETRY_WAIT_MIN",
    "retry_wait_max": "TF_HTTP_RETRY_WAIT_MAX",
}
_UNSUPPORTED = ("client_ca_certificate_pem", "client_certificate_pem", "client_private_key_pem")
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class HttpSettings:
    address: str
    update_method: str = "POST"
    lock_address: str = ""
    unlock_address: str = ""
    lock_method: str = "LOCK"
    unlock_method: str = "UNLOCK"
    username: str = ""
    password: str = field(default="", repr=False)
    skip_cert_verification: bool = False
    retry_max: int = 2
    retry_wait_min: float = 1.0
    retry_wait_max: float = 30.0


def http_settings(block: Mapping[str, Any], env: Mapping[str, str]) -> HttpSettings:
    """The settings of a ``backend "http"`` block (``TF_HTTP_*`` fill what it leaves out).

    Raises StateError naming the setting for anything missing, unknown or unsupported.
    """
    for name in block:
        if name in _UNSUPPORTED:
            raise StateError(f'backend "http": {name} (TLS client certificates) is not supported by relight')
        if name not in _SETTINGS:
            raise StateError(f'backend "http": unknown setting {name!r}; expected one of {", ".join(_SETTINGS)}')
    values: dict[str, Any] = {}
    for name, var in _SETTINGS.items():
        value = block.get(name)
        if value is None and var and env.get(var):
            value = env[var]
        if value is not None:
            values[name] = value
    address = str(values.get("address", ""))
    for key in ("address", "lock_address", "unlock_address"):
        url = str(values.get(key, ""))
        if (url or key == "address") and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise StateError(f'backend "http": {key} must be an http:// or https:// URL (got {url!r}; or set '
                             f"{_SETTINGS[key]})")
    try:
        return HttpSettings(
            address=address,
            update_method=str(values.get("update_method", "POST")).upper(),
            lock_address=str(values.get("lock_address", "")),
            unlock_address=str(values.get("unlock_address", values.get("lock_address", ""))),
            lock_method=str(values.get("lock_method", "LOCK")).upper(),
            unlock_method=str(values.get("unlock_method", "UNLOCK")).upper(),
            username=str(values.get("username", "")),
            password=str(values.get("password", "")),
            skip_cert_verification=values.get("skip_cert_verification") in (True, "true"),
            retry_max=int(values.get("retry_max", 2)),
            retry_wait_min=float(values.get("retry_wait_min", 1)),
            retry_wait_max=float(values.get("retry_wait_max", 30)),
        )
    except (TypeError, ValueError) as exc:
        raise StateError(f'backend "http": retry_max, retry_wait_min and retry_wait_max are numbers ({exc})') from None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes


class HttpBackend:
    """A :class:`~relight.state.StateBackend` over Terraform's http backend protocol."""

    def __init__(self, settings: HttpSettings, encode: Encode, decode: Decode) -> None:
        self.settings = settings
        self.encode = encode
        self.decode = decode
        self.where = f"the http backend at {_safe(settings.address)}"
        self.held: LockInfo | None = None
        self._context = ssl._create_unverified_context() if settings.skip_cert_verification else None

    def __repr__(self) -> str:
        return f"HttpBackend({_safe(self.settings.address)!r})"

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> State:
        answer = self._call("GET", self.settings.address)
        if answer.status in (204, 404) or (answer.status == 200 and not answer.body.strip()):
            return State(UNASSIGNED_LINEAGE)
        if answer.status != 200:
            raise StateError(f"{self.where}: GET answered {answer.status}: {_text(answer.body)}")
        return self.decode(answer.body, self.where)

    def history(self) -> list[VersionInfo]:
        return []

    def read_version(self, serial: int) -> State:
        raise StateError(f"{self.where}: Terraform's http protocol serves only the current state; stored versions "
                         "are on the server's own pages")

    # -- writing -----------------------------------------------------------------------------

    def open_journal(self, state: State) -> HttpJournal:
        current = self.read()
        if (current.lineage, current.serial) != (state.lineage, state.serial) and current.lineage:
            raise StateError(f"{self.where} changed since it was read (now serial {current.serial}); read it again")
        return HttpJournal(self, state)

    def write(self, state: State, *, force: bool = False) -> State:
        """Store ``state`` whole as the next serial; refuses (unless ``force``) another lineage or
        an older serial than the stored one."""
        current = self.read()
        if current.lineage and not force:
            if current.lineage != state.lineage and len(current):
                raise StateError(f"refusing to write lineage {state.lineage} over {self.where}, which has lineage "
                                 f"{current.lineage}: they are different states")
            if state.serial < current.serial:
                raise StateError(f"refusing to write serial {state.serial} over {self.where}, which is newer "
                                 f"(serial {current.serial}); read it again")
        result = state.copy()
        result.lineage = state.lineage or current.lineage or _new_lineage()
        result.serial = max(state.serial, current.serial) + 1
        self.post(result)
        return result

    def post(self, state: State) -> None:
        """Upload ``state`` (under the lock this backend holds, if any); StateError if refused."""
        address = self.settings.address
        if self.held is not None:
            sep = "&" if "?" in address else "?"
            address = f"{address}{sep}ID={urllib.parse.quote(self.held.id)}"
        answer = self._call(self.settings.update_method, address, self.encode(state), "application/json")
        if answer.status in (423, 409):
            raise StateLockedError(f"{self.where}: the state is locked by someone else; nothing was written\n"
                                   f"{_text(answer.body)}", _holder_doc(answer.body))
        if not 200 <= answer.status < 300:
            raise StateError(f"{self.where}: {self.settings.update_method} answered {answer.status}: "
                             f"{_text(answer.body)}")

    # -- locking -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        """Hold the server's lock for the block (no ``lock_address``: no locking, as Terraform)."""
        if not self.settings.lock_address:
            yield LockInfo.new(operation, self.settings.address)
            return
        info = self._acquire(operation, timeout)
        self.held = info
        try:
            yield info
        finally:
            self.held = None
            self._call(self.settings.unlock_method, self.settings.unlock_address or self.settings.lock_address,
                       json.dumps(info.to_json()).encode(), "application/json")

    def force_unlock(self, lock_id: str) -> None:
        address = self.settings.unlock_address or self.settings.lock_address
        if not address:
            raise StateError(f"{self.where}: no lock_address, so there is no lock to remove")
        answer = self._call(self.settings.unlock_method, address, json.dumps({"ID": lock_id}).encode(),
                            "application/json")
        if not 200 <= answer.status < 300:
            raise StateError(f"{self.where}: the lock was not removed ({answer.status}): {_text(answer.body)}")

    def _acquire(self, operation: str, timeout: float) -> LockInfo:
        info = LockInfo.new(operation, self.settings.address)
        started = time.monotonic()
        delay = 0.2
        while True:
            answer = self._call(self.settings.lock_method, self.settings.lock_address,
                                json.dumps(info.to_json()).encode(), "application/json")
            if 200 <= answer.status < 300:
                return info
            if answer.status not in (423, 409):
                raise StateError(f"{self.where}: {self.settings.lock_method} answered {answer.status}: "
                                 f"{_text(answer.body)}")
            waited = time.monotonic() - started
            if waited >= timeout:
                holder = LockInfo.from_json(_holder_doc(answer.body))
                raise StateLockedError(lock_error_message(holder, self.settings.lock_address, waited),
                                       holder.to_json())
            time.sleep(min(delay, max(timeout - waited, 0.01)))
            delay = min(delay * 2, 2.0)

    # -- HTTP --------------------------------------------------------------------------------

    def _call(self, method: str, url: str, body: bytes | None = None, content_type: str = "") -> _Answer:
        """One request, retried ``retry_max`` times on connection errors and 5xx answers."""
        s = self.settings
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if s.username or s.password:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{s.username}:{s.password}".encode()).decode()
        wait = s.retry_wait_min
        for attempt in range(s.retry_max + 1):
            request = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=_TIMEOUT, context=self._context) as resp:
                    return _Answer(resp.status, resp.read())
            except urllib.error.HTTPError as exc:
                answer = _Answer(exc.code, exc.read())
                if exc.code < 500 or attempt == s.retry_max:
                    return answer
            except (urllib.error.URLError, OSError) as exc:
                if attempt == s.retry_max:
                    raise StateError(f"{self.where}: {method} failed: {getattr(exc, 'reason', exc)}") from None
            time.sleep(wait)
            wait = min(wait * 2, s.retry_wait_max)
        raise AssertionError("unreachable")


class HttpJournal(GroupCommitJournal):
    """The :class:`~relight.state.Journal` of :class:`HttpBackend` (see the module docstring).

    A batch (:mod:`relight.state.groupcommit`) applies its records to the run's state in memory
    and uploads that state whole, as the next serial.
    """

    def __init__(self, backend: HttpBackend, base: State) -> None:
        super().__init__(base, backend.where)
        self._backend = backend
        self._state = base.copy()
        self._state.lineage = base.lineage or _new_lineage()
        self._serial = base.serial

    def _write_batch(self, lines: list[bytes], durable: bool) -> None:
        apply_records(self._state, [json.loads(line) for line in lines], self.where, None)
        snapshot = self._state.copy()
        snapshot.serial = self._serial + 1
        self._backend.post(snapshot)
        self._serial = snapshot.serial

    def commit(self, final: State) -> State:
        """Upload ``final`` as the next serial (nothing when nothing changed)."""
        self._stop()
        result = final.copy()
        result.lineage = self._state.lineage
        result.serial = self._serial
        if self._records or not final.same_content(self._base):
            result.serial += 1
            self._backend.post(result)
        return result

    def close(self) -> None:
        """Stop recording; what was uploaded stays (the server has every answered change)."""
        if not self._closed:
            self._stop()

    def __enter__(self) -> HttpJournal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _new_lineage() -> str:
    import uuid

    return str(uuid.uuid4())


def _holder_doc(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace").strip()[:2000]


def _safe(url: str) -> str:
    """``url`` without credentials or query (for messages)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return url
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
