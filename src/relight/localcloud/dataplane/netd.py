"""The connection helper that runs in an instance's network namespace (started by network.py).

``python -m relight.localcloud.dataplane.netd FD``: FD is one end of a Unix socket pair whose
other end the local cloud holds. Each request is one line ``ADDRESS PORT``; the helper connects
to that address inside the instance's network namespace and sends back one byte, ``0`` with the
connected socket attached (SCM_RIGHTS), or the errno of the failure. It exits when the local
cloud closes its end.
"""

from __future__ import annotations

import socket
import sys


def serve(channel: socket.socket) -> None:
    reader = channel.makefile("rb")
    for line in reader:
        try:
            address, port = line.decode().split()
            conn = socket.create_connection((address, int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            code = getattr(exc, "errno", None) or 1
            channel.sendall(bytes([min(int(code), 255)]))
            continue
        try:
            conn.settimeout(None)
            socket.send_fds(channel, [b"\0"], [conn.fileno()])
        finally:
            conn.close()


def main() -> None:
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
