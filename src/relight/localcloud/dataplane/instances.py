"""A running instance: its boots, its mounts (from ``/etc/fstab``) and the commands run in it.

An instance's root filesystem is its root volume's directory; its data volumes are moved into
``DATA/instances/i-x/attached/`` while attached, which the sandbox sees at
``/.relight/attached``. A volume is mounted (a bind mount inside the sandbox's mount namespace)
where the instance's ``/etc/fstab`` names its device: the first field is the attachment's device
name, ``/dev/sdf`` and ``/dev/xvdf`` being the same device, as on Xen instances. Mounts follow
the attachments and the fstab: :meth:`InstanceRuntime.sync_mounts` makes the sandbox's mounts
match them, and runs at boot (before the init goes on), on every attach and detach, before every
command, and whenever the fstab changes. A detach unmounts lazily: a process with a file open
on the volume keeps it, as with a forced detach.

User data that starts with ``#!`` runs once, at the first boot (as cloud-init's user scripts);
its output and the boot's go to ``/var/log/cloud-init-output.log`` in the instance. Every boot
then runs ``/etc/rc.local`` when it is executable. Stop and terminate kill every process of the
instance; a reboot is a stop and a boot on the same root filesystem.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from relight.localcloud.dataplane.sandbox import Sandbox, SandboxError, SandboxSpec

__all__ = ["BootPlan", "InstanceRuntime", "desired_mounts", "parse_fstab", "same_device"]

log = logging.getLogger("relight.localcloud")

_BASE_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
}


@dataclass(frozen=True)
class BootPlan:
    """What one boot needs: the root filesystem, the devices attached and the first-boot input."""

    root: Path
    devices: Mapping[str, str]  # device name -> volume id (data volumes) when the boot started
    first_boot: bool
    user_data: bytes | None
    public_key: str | None = None


def parse_fstab(text: str) -> list[tuple[str, str]]:
    """``(device, mount point)`` of each fstab line that mounts something (no swap, no comments)."""
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or fields[1] in ("none", "swap") or not fields[1].startswith("/"):
            continue
        out.append((fields[0], fields[1].rstrip("/") or "/"))
    return out


def same_device(a: str, b: str) -> bool:
    """``/dev/sdf`` and ``/dev/xvdf`` name one device (Xen's renaming, which AWS documents)."""

    def norm(name: str) -> str:
        name = name.removeprefix("/dev/")
        return name[3:] if name.startswith("xvd") else name[2:] if name.startswith("sd") else name

    return norm(a) == norm(b)


def desired_mounts(fstab: list[tuple[str, str]], devices: Mapping[str, str]) -> dict[str, str]:
    """Mount point -> volume id for each fstab entry whose device is attached."""
    out: dict[str, str] = {}
    for device, mount_point in fstab:
        if mount_point == "/":
            continue
        for attached, volume_id in devices.items():
            if same_device(device, attached):
                out[mount_point] = volume_id
    return out


class InstanceRuntime:
    """One instance's sandbox across its boots. Every method is safe to call from any thread,
    except :meth:`boot`, which must run on a long-lived thread (see sandbox.py)."""

    def __init__(self, instance_id: str, init: Path, attached: Path, hostname: str, private_ip: str | None) -> None:
        self.instance_id = instance_id
        self.hostname = hostname
        self.private_ip = private_ip
        self._init = init
        self._attached = attached
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.sandbox: Sandbox | None = None
        self.want_running = False
        self.failure: str | None = None
        self.booted = False  # the init reported the boot finished
        self._fstab_stamp: int | None = None
        self._root: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def boot(self, plan: BootPlan) -> None:
        """Start the sandbox, mount the data volumes, then let the init run the boot.

        A failure is recorded (``failure``, and in the console log) rather than raised: the
        instance stays "running" for the API, as an impaired instance does on AWS."""
        with self._lock:
            if not self.want_running or self.sandbox is not None:
                return
            self.failure = None
            self.booted = False
            self._root = plan.root
            try:
                self._prepare_root(plan)
                box = Sandbox.start(
                    SandboxSpec(self.instance_id, plan.root, self._attached, self._init, self.hostname)
                )
            except (OSError, SandboxError) as exc:
                self._fail(f"the instance could not boot: {exc}")
                return
            self.sandbox = box
            try:
                self.sync_mounts(plan.devices)
                self._add_private_ip(box)
                box.go(plan.first_boot)
            except (OSError, SandboxError) as exc:
                self._fail(f"the instance could not boot: {exc}")
                box.stop()
                self.sandbox = None
            self._changed.notify_all()

    def stop(self) -> None:
        """Kill every process of the instance. Idempotent."""
        with self._lock:
            self.want_running = False
            if self.sandbox is not None:
                self.sandbox.stop()
                self.sandbox = None
            self.booted = False
            self._changed.notify_all()

    def wait_running(self, timeout: float) -> Sandbox | None:
        """The sandbox once the instance is up (mounts made), or None if it is not coming up."""
        with self._lock:
            self._changed.wait_for(lambda: self.sandbox is not None or not self.want_running or bool(self.failure),
                                   timeout)  # fmt: skip
            return self.sandbox

    def poll_booted(self) -> None:
        """Notice the init's ``booted`` report (non-blocking)."""
        with self._lock:
            if self.sandbox is not None and not self.booted and self.sandbox.wait_booted(0.0):
                self.booted = True

    # -- mounts -----------------------------------------------------------------------------
    def sync_mounts(self, devices: Mapping[str, str]) -> list[str]:
        """Make the sandbox's data mounts match the fstab and the attachments; returns what
        changed (also written to the console log, with any mount that failed). A no-op while the
        instance is not running."""
        with self._lock:
            box, root = self.sandbox, self._root
            if box is None or root is None:
                return []
            fstab_path = root / "etc" / "fstab"
            try:
                stamp = fstab_path.stat().st_mtime_ns
                fstab = parse_fstab(fstab_path.read_text(errors="replace"))
            except OSError:
                stamp, fstab = None, []
            self._fstab_stamp = stamp
            want = desired_mounts(fstab, devices)
            have = self._mounted(box)
            changes: list[str] = []
            for mount_point, volume_id in sorted(have.items(), reverse=True):
                if want.get(mount_point) != volume_id and self._run(box, ["umount", "-l", mount_point]):
                    changes.append(f"unmounted {volume_id} from {mount_point}")
            for mount_point, volume_id in sorted(want.items()):
                if have.get(mount_point) != volume_id and (self._attached / volume_id).is_dir():
                    script = 'mkdir -p "$2" && mount --bind "$1" "$2"'
                    argv = ["/bin/sh", "-c", script, "mount", f"/.relight/attached/{volume_id}", mount_point]
                    if self._run(box, argv):
                        changes.append(f"mounted {volume_id} at {mount_point}")
            if changes:
                self.console("; ".join(changes))
            return changes

    def fstab_changed(self) -> bool:
        with self._lock:
            if self._root is None or self.sandbox is None:
                return False
            try:
                stamp: int | None = (self._root / "etc" / "fstab").stat().st_mtime_ns
            except OSError:
                stamp = None
            return stamp != self._fstab_stamp

    def mounts(self) -> dict[str, tuple[str, bool]]:
        """Mount point -> (volume id, read-only) of the data volumes mounted now."""
        box = self.sandbox
        if box is None:
            return {}
        try:
            text = Path(f"/proc/{box.pid}/mountinfo").read_text()
        except OSError:
            return {}
        out: dict[str, tuple[str, bool]] = {}
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 6:
                continue
            source, target = _unescape(fields[3]), _unescape(fields[4])
            name = source.rsplit("/", 1)[-1]
            if "/attached/" in source and name.startswith("vol-"):
                out[target] = (name, "ro" in fields[5].split(","))
            elif target == "/":
                out["/"] = ("", "ro" in fields[5].split(","))
        return out

    def _mounted(self, box: Sandbox) -> dict[str, str]:
        return {mp: vid for mp, (vid, _) in self.mounts().items() if vid}

    def _run(self, box: Sandbox, argv: list[str]) -> bool:
        """Run a mount or umount inside; a failure goes to the console log (the API call that
        caused it has succeeded, as an attach succeeds on AWS whatever the instance does)."""
        done = box.run(argv)
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()
            self.console(f"{' '.join(argv[-2:])}: {err or 'failed'}")
        return done.returncode == 0

    def _add_private_ip(self, box: Sandbox) -> None:
        # So a service may bind the private address; optional (needs iproute2 on the host).
        if self.private_ip:
            box.run(["/bin/sh", "-c", f"command -v ip >/dev/null && ip addr add {self.private_ip}/32 dev lo"])

    # -- files ------------------------------------------------------------------------------
    def _prepare_root(self, plan: BootPlan) -> None:
        root = plan.root
        for rel in ("etc", "root", "var/log", "var/tmp", "var/lib/cloud/instance", "run", ".relight/attached"):
            (root / rel).mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(exist_ok=True)
        (root / "tmp").chmod(0o1777)
        (root / ".relight" / "init").touch()
        for rel, text in _BASE_FILES.items():
            if not (root / rel).exists():
                (root / rel).write_text(text)
        (root / "etc" / "hostname").write_text(f"{self.hostname}\n")
        hosts = f"127.0.0.1 localhost\n{self.private_ip or '127.0.1.1'} {self.hostname}\n"
        (root / "etc" / "hosts").write_text(hosts)
        if plan.first_boot and plan.user_data:
            (root / "var/lib/cloud/instance/user-data.txt").write_bytes(plan.user_data)
        if plan.first_boot and plan.public_key:
            # As cloud-init does with the launch's key pair (for the image's login user; every
            # process of an instance runs as root here).
            ssh = root / "root" / ".ssh"
            ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
            keys = ssh / "authorized_keys"
            with open(keys, "a") as f:
                f.write(plan.public_key.strip() + "\n")
            keys.chmod(0o600)

    def console(self, text: str) -> None:
        """Append a line to the instance's console log (``/var/log/cloud-init-output.log``)."""
        root = self._root
        if root is None:
            return
        try:
            with open(root / "var" / "log" / "cloud-init-output.log", "a") as f:
                f.write(f"[local cloud] {text}\n")
        except OSError:
            pass

    def _fail(self, reason: str) -> None:
        self.failure = reason
        log.warning("%s: %s", self.instance_id, reason)
        self.console(reason)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    return (
        field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
    )
