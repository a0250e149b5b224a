"""The machine images the local cloud ships, and the root filesystem each one boots.

Besides the emulator's public catalogue, the local cloud offers the images our examples boot,
owned by the local account (``owners = ["self"]``): ``ami-347c015e``, the image id the 2015 seed
hard-codes, and ``ghe-<version>-<date>`` images for ``examples/github-enterprise`` (standing in
for images baked with Packer on a real account).

Each shipped image has a small root filesystem (:func:`image_files`) with a stand-in "GitHub
Enterprise": a tiny HTTP service (``standin_ghe.py``) that ``/etc/rc.local`` starts at every
boot, which keeps its data under the data volume's mount (``/data/ghe``, the volume the
instance's ``/etc/fstab`` mounts from ``/dev/xvdf``) and answers ``GET /status`` with its version
and the data token. Versions differ visibly: each writes its data schema, a newer one migrates
older data forward, an older one refuses newer data (as GitHub Enterprise does).

The emulator's own public images have no content: an instance of one boots an empty root
filesystem (the host's system directories are still there, read-only).
"""

from __future__ import annotations

import importlib.resources
from typing import Any

__all__ = ["ACCOUNT", "IMAGES", "SERVICE_PORT", "add_images", "image_files", "shipped_version"]

ACCOUNT = "123456789012"  # the emulator's account id
SERVICE_PORT = 80  # where the stand-in service listens inside the instance

IMAGES: tuple[dict[str, Any], ...] = (
    {"ami_id": "ami-347c015e", "name": "github-enterprise-2.4.0-seed", "creation_date": "2015-11-20T00:00:00.000Z"},
    {"ami_id": "ami-0a17e2160c0ffee01", "name": "ghe-2.16.0-20261001", "creation_date": "2026-10-01T00:00:00.000Z"},
    {"ami_id": "ami-0a17e2170c0ffee02", "name": "ghe-2.17.0-20261101", "creation_date": "2026-11-01T00:00:00.000Z"},
)
_VERSIONS = {"ami-347c015e": "2.4.0", "ami-0a17e2160c0ffee01": "2.16.0", "ami-0a17e2170c0ffee02": "2.17.0"}

_FSTAB = """\
# <device>  <mount point>  <type>  <options>        <dump> <pass>
/dev/xvdf   /data          ext4    defaults,nofail  0      2
"""

_RC_LOCAL = """\
#!/bin/sh
# Runs at the end of every boot. Starts the stand-in GitHub Enterprise service.
/opt/ghe/bin/ghe-service start
"""

_SERVICE = """\
#!/bin/sh
# ghe-service start|stop|restart|status: the stand-in GitHub Enterprise service.
PIDFILE=/run/ghe.pid
LOG=/var/log/ghe.log
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
  start)
    running && exit 0
    mkdir -p /var/log
    nohup python3 /opt/ghe/server.py --port {port} --data /data/ghe --version "$(cat /opt/ghe/VERSION)" \\
      >>"$LOG" 2>&1 </dev/null &
    echo $! > "$PIDFILE"
    ;;
  stop)
    running && kill "$(cat "$PIDFILE")"
    rm -f "$PIDFILE"
    ;;
  restart) "$0" stop; sleep 0.2; "$0" start ;;
  status) if running; then echo running; else echo stopped; exit 3; fi ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
"""


def shipped_version(ami_id: str) -> str | None:
    """The stand-in service's version in a shipped image, or None for any other image."""
    return _VERSIONS.get(ami_id)


def image_files(ami_id: str) -> dict[str, tuple[int, bytes]]:
    """The root filesystem of a shipped image: path (relative to ``/``) -> (mode, content).

    Empty for images the local cloud does not ship."""
    version = shipped_version(ami_id)
    if version is None:
        return {}
    server = importlib.resources.files("relight.localcloud").joinpath("standin_ghe.py").read_bytes()
    return {
        "etc/fstab": (0o644, _FSTAB.encode()),
        "etc/rc.local": (0o755, _RC_LOCAL.encode()),
        "etc/os-release": (0o644, f'NAME="GitHub Enterprise (local cloud stand-in)"\nVERSION="{version}"\n'.encode()),
        "opt/ghe/VERSION": (0o644, f"{version}\n".encode()),
        "opt/ghe/server.py": (0o644, server),
        "opt/ghe/bin/ghe-service": (0o755, _SERVICE.replace("{port}", str(SERVICE_PORT)).encode()),
    }


def add_images() -> None:
    """Add the shipped images to the emulator's catalogue (once per process)."""
    from moto.ec2.models import amis

    present = {a["ami_id"] for a in amis.AMIS}
    for image in IMAGES:
        if image["ami_id"] in present:
            continue
        amis.AMIS.append(
            {
                "state": "available",
                "public": False,
                "owner_id": ACCOUNT,
                "root_device_type": "ebs",
                "root_device_name": "/dev/xvda",
                "description": f"{image['name']} (local cloud image)",
                "image_type": "machine",
                "platform": None,
                "architecture": "x86_64",
                "virtualization_type": "hvm",
                "hypervisor": "xen",
                "image_location": f"{ACCOUNT}/{image['name']}",
                **image,
            }
        )
