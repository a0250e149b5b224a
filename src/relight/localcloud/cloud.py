"""``LocalCloud``: one emulator server on 127.0.0.1, with its data plane, in this process."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from relight.errors import RelightError

__all__ = ["ACCESS_KEY", "DEFAULT_PORT", "REGION", "SECRET_KEY", "LocalCloud", "LocalCloudUnavailable"]

DEFAULT_PORT = 4566
REGION = "us-east-1"
ACCESS_KEY = "relight-local"
SECRET_KEY = "relight-local-secret"

log = logging.getLogger("relight.localcloud")
_probe_lock = threading.Lock()
_probed: list[str | None] = []  # the sandbox probe's answer, once per process
_running: list[LocalCloud] = []


class LocalCloudUnavailable(RelightError):
    """The emulator (moto) is not installed, its port is taken, or its data directory is unusable."""


def data_plane_problem() -> str | None:
    """Why instances cannot run here (None: they can). Probed once per process and, when
    there is a problem, logged once."""
    from relight.localcloud.dataplane.sandbox import probe

    with _probe_lock:
        if not _probed:
            _probed.append(probe())
            if _probed[0] is not None:
                log.warning("local cloud: no data plane (%s); objects are metadata only", _probed[0])
        return _probed[0]


class LocalCloud:
    """One emulator server on 127.0.0.1, in background threads of this process.

    ``port=0`` picks a free port. ``data_dir`` keeps the cloud's objects and their bytes
    across restarts (None: a temporary directory, removed at :meth:`stop`). ``latency`` seconds
    are added to every API call. ``data_plane=False`` (or a machine where sandboxes cannot run,
    see :attr:`data_plane_reason`) keeps metadata only: volumes hold no bytes, instances run
    nothing. One local cloud per process: the emulator keeps its objects in process globals.

    ``stop`` (or leaving the ``with`` block) stops every instance and shuts the server down;
    with a data directory, everything is saved first.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = REGION,
        data_dir: Path | str | None = None,
        latency: float = 0.0,
        data_plane: bool = True,
    ) -> None:
        try:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: F401
        except ImportError:
            raise LocalCloudUnavailable(
                "The local cloud needs the AWS emulator (moto). Install it with: pip install 'relight[local]'"
            ) from None
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.host = host
        self.region = region
        self._latency = latency
        self._gateway: Any = None
        self.persistent = data_dir is not None
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._want_data_plane = data_plane
        self._port = port or _free_port(host)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._plane: Any = None
        self._persistence: Any = None
        self._catalog: Any = None
        self._emulator: Any = None
        self.data_plane_reason: str | None = None if data_plane else "turned off"
        self.orphans: list[str] = []

    # -- addresses ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def latency(self) -> float:
        """Seconds added to every API call (settable while the cloud runs)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._latency = seconds
        if self._gateway is not None:
            self._gateway.latency = seconds

    @property
    def data_dir(self) -> Path | None:
        """Where volumes, snapshots and (with ``data_dir`` given) the saved objects live."""
        return self._data_dir

    @property
    def emulator_lock(self) -> Any:
        """The :class:`~relight.localcloud.locks.EmulatorLock` every call into moto holds; code
        that patches the emulator (tests) can wait with it ``released()``."""
        return self._emulator

    @property
    def data_plane(self) -> Any:
        """The :class:`~relight.localcloud.dataplane.DataPlane`, or None (metadata only)."""
        return self._plane

    def env(self) -> dict[str, str]:
        """The environment variables that point boto3 (and so relight) at this cloud."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def instance_address(self, instance_id: str) -> dict[str, Any] | None:
        """Where the host reaches an instance's services: ``host_address`` and ``ports``
        (inside port -> ``host:port``), as ``GET /_relight/instances/<id>`` answers."""
        return None if self._plane is None else self._plane.instance_view(instance_id)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        """Serve. Raises LocalCloudUnavailable (port taken, another local cloud in this
        process, unreadable saved objects); nothing is left running when it does."""
        if _port_taken(self.host, self._port):
            raise LocalCloudUnavailable(
                f"Port {self._port} on {self.host} is already in use. Choose another with --port, "
                "or stop the process that holds it."
            )
        if _running:
            raise LocalCloudUnavailable("A local cloud is already running in this process (one per process).")
        from relight.localcloud.images import add_images
        from relight.localcloud.strict import make_emulator_strict

        make_emulator_strict()
        add_images()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        temporary = self._data_dir is None
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="relight-local-cloud-"))
        try:
            self._start_data(temporary)
            self._serve()
        except BaseException:
            self._stop_data()
            if temporary:
                shutil.rmtree(self._data_dir, ignore_errors=True)
            raise
        _running.append(self)
        return self

    def _start_data(self, temporary: bool) -> None:
        from relight.localcloud.dataplane import DataPlane, hooks
        from relight.localcloud.images import image_files
        from relight.localcloud.locks import EmulatorLock
        from relight.localcloud.persist import Persistence

        assert self._data_dir is not None
        try:
            self._data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalCloudUnavailable(f"Cannot use the data directory {self._data_dir}: {exc.strerror}") from None
        if self._want_data_plane:
            self.data_plane_reason = data_plane_problem()
        mutate = None
        if not temporary:
            self._persistence = Persistence(
                self._data_dir,
                lambda: self._plane.export_records() if self._plane is not None else {},
                lambda: self._plane.committed() if self._plane is not None else None,
            )
            mutate = self._persistence.mutation
        self._emulator = EmulatorLock()
        if self.data_plane_reason is None:
            catalog = hooks.MotoCatalog(self._emulator)
            hooks.install()
            kwargs: dict[str, Any] = {"mutate": mutate} if mutate is not None else {}
            self._plane = DataPlane(
                self._data_dir, catalog, image_files, durable=not temporary, unlocked=self._emulator.released, **kwargs
            )
            self._catalog = catalog
            hooks.activate(self._plane)
        if self._persistence is not None:
            try:
                records = self._persistence.load()
            except Exception as exc:
                raise LocalCloudUnavailable(
                    f"Cannot read the saved objects in {self._persistence.path}: {exc}. Move the file away "
                    "to start empty (the volumes' bytes stay in the directory)."
                ) from None
            self._persistence.start()
            if self._plane is not None:
                with self._persistence.mutation():
                    hooks.fail_unfinished_commands()
                self.orphans = self._plane.resume(records or {})
                if self.orphans:
                    log.warning("local cloud: content without an object moved to %s/orphans", self._data_dir)

    def _serve(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from relight.localcloud.gateway import Gateway

        self._gateway = app = Gateway(
            DomainDispatcherApplication(create_backend_app),
            self.latency,
            lambda: self._plane,
            self._persistence,
            self.describe,
            self._after_reset,
            self._emulator,
        )
        self._server = make_server(self.host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="relight-local-cloud", daemon=True)
        self._thread.start()

    def describe(self) -> dict[str, Any]:
        """What ``GET /_relight/data-plane`` answers."""
        return {
            "data_plane": self._plane is not None,
            "reason": self.data_plane_reason,
            "data_dir": str(self._data_dir) if self._data_dir else None,
            "persistent": self.persistent,
            "latency_seconds": self.latency,
        }

    def stop(self) -> None:
        """Stop serving and every instance; save the objects (with a data directory)."""
        if self not in _running:
            return
        _running.remove(self)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = None
        self._stop_data()
        if not self.persistent and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)

    def _stop_data(self) -> None:
        from relight.localcloud.dataplane import hooks

        if self._plane is not None:
            self._plane.shutdown()
        if self._persistence is not None:
            self._persistence.stop()
            self._persistence = None
        hooks.activate(None)
        self._plane = None

    def reset(self) -> None:
        """Forget every object in the emulator (and every byte of the data plane)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30):
            pass

    def _after_reset(self) -> None:
        if self._plane is not None:
            self._catalog.forget()
            self._plane.reset()
        if self._persistence is not None:
            with self._persistence.mutation():
                pass

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0
