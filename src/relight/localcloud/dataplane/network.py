"""How the host reaches services inside instances.

Each instance has its own network namespace (loopback only; its private IP is added to the
loopback), so its private IP is not routable from the host. Instead every instance gets a **host
address**, a loopback address of its own:

* ``127.B.C.D`` for a private IP ``10.B.C.D`` (so ``10.0.1.10`` is reached at ``127.0.1.10``),
  unless another live instance holds it;
* otherwise the next free address from ``127.254.0.1`` up.

Every TCP port the instance listens on (on all addresses or on its private IP) is listened on
at the same port of its host address, and each connection is relayed into the instance. A port
the host cannot take (a privileged port when unprivileged, or one in use) is offered on a free
port of the host address instead. The address and the port map are reported by
``GET /_relight/instances/<id>`` on the local cloud's endpoint and by
``LocalCloud.instance_address()``; see docs/local-cloud.md.

Connections are made inside the namespace by a small helper (netd.py) started on first use with
``nsenter --user --net``; it hands back connected sockets over a Unix socket pair.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["AddressBook", "Forwarder", "listening_ports", "parse_listeners"]

log = logging.getLogger("relight.localcloud")
_POOL_START = int(ipaddress.IPv4Address("127.254.0.1"))


class AddressBook:
    """Host addresses by instance id. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_instance: dict[str, str] = {}

    def allocate(self, instance_id: str, private_ip: str | None) -> str:
        with self._lock:
            if instance_id in self._by_instance:
                return self._by_instance[instance_id]
            taken = set(self._by_instance.values())
            address = _preferred(private_ip)
            if address is None or address in taken:
                n = _POOL_START
                while str(ipaddress.IPv4Address(n)) in taken:
                    n += 1
                address = str(ipaddress.IPv4Address(n))
            self._by_instance[instance_id] = address
            return address

    def restore(self, instance_id: str, address: str) -> None:
        with self._lock:
            self._by_instance[instance_id] = address

    def release(self, instance_id: str) -> None:
        with self._lock:
            self._by_instance.pop(instance_id, None)

    def get(self, instance_id: str) -> str | None:
        with self._lock:
            return self._by_instance.get(instance_id)

    def clear(self) -> None:
        with self._lock:
            self._by_instance.clear()


def _preferred(private_ip: str | None) -> str | None:
    try:
        ip = ipaddress.IPv4Address(private_ip or "")
    except ValueError:
        return None
    if ip not in ipaddress.IPv4Network("10.0.0.0/8"):
        return None
    b, c, d = ip.packed[1:]
    if (b, c, d) in ((0, 0, 0), (0, 0, 1), (255, 255, 255)):
        return None
    return f"127.{b}.{c}.{d}"


def listening_ports(pid: int, private_ip: str | None) -> dict[int, str]:
    """Port -> the address to connect to inside, for each TCP port the instance listens on
    for others (all addresses or the private IP; loopback-only services are not exposed)."""
    tables: dict[str, str] = {}
    for name in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            tables[name] = Path(f"/proc/{pid}/net/{name}").read_text()
    return parse_listeners(tables, private_ip)


def parse_listeners(tables: dict[str, str], private_ip: str | None) -> dict[int, str]:
    """:func:`listening_ports` from the text of ``/proc/PID/net/tcp`` and ``tcp6`` (by name)."""
    wanted = {"00000000": "127.0.0.1"}
    if private_ip:
        with contextlib.suppress(ValueError):
            wanted[ipaddress.IPv4Address(private_ip).packed[::-1].hex().upper()] = private_ip
    out: dict[int, str] = {}
    for name, text in sorted(tables.items()):
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A = LISTEN
                continue
            address, port_hex = fields[1].split(":")
            if name == "tcp6":
                address = "00000000" if address.strip("0") == "" else address[-8:] if "FFFF" in address else ""
            if address in wanted:
                out.setdefault(int(port_hex, 16), wanted[address])
    return out


class _Helper:
    """The in-namespace connection helper (netd.py), started on first use."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._lock = threading.Lock()
        self._channel: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def connect(self, address: str, port: int) -> socket.socket:
        with self._lock:
            channel = self._channel or self._start()
            channel.sendall(f"{address} {port}\n".encode())
            msg, fds, _, _ = socket.recv_fds(channel, 1, 1)
            if not msg:
                self.close_locked()
                raise ConnectionError("the instance's network helper exited")
            if msg != b"\0" or not fds:
                raise ConnectionRefusedError(msg[0] if msg else 0, f"connecting to {address}:{port} inside failed")
            return socket.socket(fileno=fds[0])

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        import relight

        source = str(Path(relight.__file__).resolve().parents[1])
        argv = [
            "nsenter", "--target", str(self._pid), "--preserve-credentials", "--user", "--net", "--",
            sys.executable, "-m", "relight.localcloud.dataplane.netd", str(theirs.fileno()),
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            argv, pass_fds=(theirs.fileno(),), env={"PYTHONPATH": source}, stdin=subprocess.DEVNULL
        )
        theirs.close()
        self._channel = ours
        return ours

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


class Forwarder:
    """Listeners on one instance's host address, relaying into the instance."""

    def __init__(self, instance_id: str, host_address: str, pid: int) -> None:
        self.instance_id = instance_id
        self.host_address = host_address
        self._helper = _Helper(pid)
        self._lock = threading.Lock()
        self._listeners: dict[int, tuple[socket.socket, str]] = {}  # inside port -> (listener, inside address)
        self._closed = False

    def ports(self) -> dict[int, str]:
        """Inside port -> ``host:port`` where the host reaches it."""
        with self._lock:
            return {p: f"{self.host_address}:{s.getsockname()[1]}" for p, (s, _) in sorted(self._listeners.items())}

    def update(self, listening: dict[int, str]) -> None:
        """Follow the instance's listening ports (from :func:`listening_ports`)."""
        with self._lock:
            if self._closed:
                return
            for port in [p for p in self._listeners if p not in listening]:
                _close(self._listeners.pop(port)[0])
            for port, inside in listening.items():
                if port not in self._listeners:
                    listener = self._listen(port)
                    if listener is not None:
                        self._listeners[port] = (listener, inside)
                        threading.Thread(target=self._accept, args=(listener, inside, port), daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for listener, _ in self._listeners.values():
                _close(listener)
            self._listeners.clear()
        self._helper.close()

    def _listen(self, port: int) -> socket.socket | None:
        for candidate in (port, 0):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host_address, candidate))
                sock.listen(64)
                return sock
            except OSError as exc:
                sock.close()
                if candidate == 0:
                    log.warning("%s: cannot forward port %s on %s: %s", self.instance_id, port, self.host_address, exc)
        return None

    def _accept(self, listener: socket.socket, inside: str, port: int) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._relay, args=(client, inside, port), daemon=True).start()

    def _relay(self, client: socket.socket, inside: str, port: int) -> None:
        try:
            upstream = self._helper.connect(inside, port)
        except OSError:
            client.close()
            return
        done = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        done.start()
        _pump(client, upstream)
        done.join()
        client.close()
        upstream.close()


def _close(listener: socket.socket) -> None:
    """Close a listener another thread is blocked on in accept(): shutdown wakes it (a bare
    close would leave the port bound until the next connection)."""
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
