"""One instance's sandbox: bubblewrap namespaces around the instance's own root filesystem.

A sandbox is started with ``bwrap`` (Debian's ``bubblewrap``; unprivileged where the kernel
allows user namespaces, as root otherwise) and holds new user, mount, PID, network, IPC, UTS and
cgroup namespaces:

* ``/`` is the instance's root volume (writable); the host's system directories (``/usr`` and
  the ``/bin``, ``/lib``... links or directories, plus a few files of ``/etc`` such as
  ``ld.so.cache`` and ``alternatives``) are bound read-only over it; ``/proc``, ``/dev`` and a
  fresh ``/run`` (tmpfs) are the sandbox's own;
* ``/.relight/attached`` is the host directory where attached data volumes are moved, and
  ``/.relight/init`` the init script (read-only);
* the network namespace has only loopback (see network.py for how the host reaches services).

The init (PID 2; bwrap's reaper is PID 1) prints ``ready`` on its stdout (a pipe to the local
cloud) once the sandbox is
set up, waits for the host's ``go`` (sent after the data volumes are mounted), runs the first
boot's user data and ``/etc/rc.local``, prints ``booted`` and sleeps. Everything else enters
the sandbox from the host with ``nsenter`` (all namespaces, the sandbox's root and working
directory): commands run there are inside the PID namespace, so stopping the sandbox (SIGKILL
to its PID 1) kills every process the instance started.

bwrap's ``--die-with-parent`` ties the sandbox to the *thread* that started it, so sandboxes are
started from long-lived threads only (the data plane's boot pool).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["INSTANCE_PATH", "Sandbox", "SandboxError", "SandboxSpec", "probe"]

INSTANCE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SYSTEM_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_HOST_ETC = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "localtime", "nsswitch.conf")
_READY_TIMEOUT = 20.0

INIT_SCRIPT = """\
#!/bin/sh
# The local cloud's instance init (PID 2 in the sandbox). See relight/localcloud/dataplane/sandbox.py.
# stdout is the status pipe to the local cloud; the boot's own output goes to the log.
echo ready
read -r go || exit 0
mkdir -p /var/log
{
  echo "[local cloud] boot of $RELIGHT_INSTANCE_ID at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [ "$go" = "go first-boot" ] && [ -f /var/lib/cloud/instance/user-data.txt ]; then
    if [ "$(head -c 2 /var/lib/cloud/instance/user-data.txt)" = "#!" ]; then
      echo "[local cloud] running user data (first boot)"
      chmod 700 /var/lib/cloud/instance/user-data.txt
      /var/lib/cloud/instance/user-data.txt
      echo "[local cloud] user data finished with exit code $?"
    fi
  fi
  if [ -x /etc/rc.local ]; then
    /etc/rc.local
    echo "[local cloud] /etc/rc.local finished with exit code $?"
  fi
  echo "[local cloud] boot finished"
} >>/var/log/cloud-init-output.log 2>&1 </dev/null
echo booted
exec sleep infinity >/dev/null
"""


class SandboxError(RuntimeError):
    """A sandbox could not be started or entered; the message says why."""


@dataclass(frozen=True)
class SandboxSpec:
    """What one boot of an instance looks like from inside."""

    instance_id: str
    root: Path  # the root volume's directory
    attached: Path  # the host directory of attached data volumes
    init: Path  # the init script on the host
    hostname: str
    env: Mapping[str, str] = field(default_factory=dict)


class Sandbox:
    """A running sandbox. :meth:`start` returns once it is set up (the init said ``ready``)."""

    def __init__(self, spec: SandboxSpec, proc: subprocess.Popen[bytes], pid: int, status_fd: int) -> None:
        self.spec = spec
        self.proc = proc
        self.pid = pid  # the sandbox's PID 1, as the host sees it
        self._status_fd = status_fd

    @classmethod
    def start(cls, spec: SandboxSpec) -> Sandbox:
        """Start the sandbox (call from a long-lived thread). Raises SandboxError."""
        info_r, info_w = os.pipe()
        env = {"RELIGHT_INSTANCE_ID": spec.instance_id, **spec.env}
        argv = bwrap_argv(spec, info_w, env)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(info_w,),
                close_fds=True,
            )
        except OSError as exc:
            os.close(info_r)
            raise SandboxError(f"cannot start bwrap: {exc}") from exc
        finally:
            os.close(info_w)
        assert proc.stdout is not None
        status_r = proc.stdout.fileno()
        try:
            info = _read_json(info_r, _READY_TIMEOUT)
            line = _read_line(status_r, _READY_TIMEOUT)
            if line != "ready":
                raise SandboxError(f"the sandbox did not start: {_stderr(proc)}")
            pid = int(str(info["child-pid"]))
        except Exception:
            proc.kill()
            proc.wait()
            raise
        finally:
            os.close(info_r)
        return cls(spec, proc, pid, status_r)

    def go(self, first_boot: bool) -> None:
        """Let the init run the boot (user data on the first one, then /etc/rc.local)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"go first-boot\n" if first_boot else b"go\n")
            self.proc.stdin.close()
        except OSError as exc:
            raise SandboxError(f"the sandbox of {self.spec.instance_id} is gone") from exc

    def wait_booted(self, timeout: float) -> bool:
        """True once the init reports the boot finished (user data and rc.local done)."""
        return _read_line(self._status_fd, timeout, raise_on_timeout=False) == "booted"

    def enter(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str = "/",
        stdout: int | None = subprocess.PIPE,
        stderr: int | None = subprocess.PIPE,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the sandbox, in directory ``cwd`` (a missing one fails the command
        with the shell's message), in its own process group (for killing on timeout)."""
        cd = 'cd "$1" || exit 1; shift; exec "$@"'
        cmd = [
            "nsenter", "--target", str(self.pid), *self._namespaces(), "--preserve-credentials", "--root", "--wd",
            "--", "/bin/sh", "-c", cd, "sh", cwd, *argv,
        ]  # fmt: skip
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )

    def _namespaces(self) -> list[str]:
        """The sandbox's namespaces to enter. Not ``--all``: unprivileged, entering a namespace
        the sandbox shares with the host (time; cgroup where it could not be unshared) fails."""
        flags = ["--user", "--mount", "--uts", "--ipc", "--net", "--pid"]
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{self.pid}/ns/cgroup") != os.readlink("/proc/self/ns/cgroup"):
                flags.append("--cgroup")
        return flags

    def run(self, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[bytes]:
        """Run a short host-side maintenance command inside (mount, umount, ip)."""
        proc = self.enter(argv, {"PATH": INSTANCE_PATH})
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc)
            out, err = proc.communicate()
        return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)

    def stop(self) -> None:
        """Kill every process of the instance (SIGKILL to the sandbox's PID 1) and reap bwrap."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def bwrap_argv(spec: SandboxSpec, info_fd: int, env: Mapping[str, str]) -> list[str]:
    """The bwrap command line for one boot."""
    argv = [
        "bwrap", "--unshare-user", "--uid", "0", "--gid", "0",
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--hostname", spec.hostname, "--clearenv",
        "--bind", str(spec.root), "/",
    ]  # fmt: skip
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in _SYSTEM_TOP:
        argv += _system_entry(top, spec.root)
    for name in _HOST_ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/run"]
    argv += ["--bind", str(spec.attached), "/.relight/attached", "--ro-bind", str(spec.init), "/.relight/init"]
    base = {"PATH": INSTANCE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "HOSTNAME": spec.hostname}
    for key, value in {**base, **env}.items():
        argv += ["--setenv", key, value]
    argv += ["--info-fd", str(info_fd), "--", "/bin/sh", "/.relight/init"]
    return argv


def _system_entry(top: str, root: Path) -> list[str]:
    """Arguments that give the sandbox the host's ``/bin``-like entry ``top``: the same link as
    the host's (kept in the root filesystem from the first boot on), or a read-only bind."""
    host, mine = Path("/") / top, root / top
    if host.is_symlink():
        target = os.readlink(host)
        if mine.is_symlink() and os.readlink(mine) == target:
            return []  # made at an earlier boot
        if not mine.exists() and not mine.is_symlink():
            return ["--symlink", target, f"/{top}"]
        return ["--ro-bind", str(host.resolve()), f"/{top}"]
    if host.is_dir():
        return ["--ro-bind", str(host), f"/{top}"]
    return []


def probe() -> str | None:
    """None when sandboxes work on this machine, else the reason they do not (said once)."""
    if not sys.platform.startswith("linux"):
        return f"instances need Linux namespaces; this is {sys.platform}"
    for tool, package in (("bwrap", "bubblewrap"), ("nsenter", "util-linux"), ("mount", "mount")):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (Debian/Ubuntu: apt-get install {package})"
    if not Path("/bin/sh").exists():
        return "the host has no /bin/sh; instances borrow the host's system directories read-only"
    with tempfile.TemporaryDirectory(prefix="relight-probe-") as tmp:
        root, attached, init = Path(tmp, "root"), Path(tmp, "attached"), Path(tmp, "init")
        root.mkdir()
        attached.mkdir()
        init.write_text(INIT_SCRIPT)
        spec = SandboxSpec("i-probe", root, attached, init, "probe")
        try:
            box = Sandbox.start(spec)
        except SandboxError as exc:
            return f"bubblewrap cannot create a sandbox here ({exc}); are user namespaces disabled?"
        try:
            done = box.run(["/bin/sh", "-c", "mkdir -p /mnt/p && mount --bind /.relight/attached /mnt/p"])
            if done.returncode != 0:
                return f"cannot enter a sandbox with nsenter: {done.stderr.decode(errors='replace').strip()}"
        finally:
            box.stop()
    return None


def _read_json(fd: int, timeout: float) -> dict[str, object]:
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = json.loads(data)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
        chunk = _read_some(fd, deadline)
        if not chunk:
            raise SandboxError("bwrap exited before the sandbox was set up")
        data += chunk


def _read_line(fd: int, timeout: float, raise_on_timeout: bool = True) -> str:
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        try:
            chunk = _read_some(fd, deadline)
        except SandboxError:
            if raise_on_timeout:
                raise
            return ""
        if not chunk:
            return data.decode(errors="replace").strip()
        data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()


def _read_some(fd: int, deadline: float) -> bytes:
    left = max(0.0, deadline - time.monotonic())
    if not select.select([fd], [], [], left)[0]:
        raise SandboxError("the sandbox did not answer in time")
    return os.read(fd, 1)


def _stderr(proc: subprocess.Popen[bytes]) -> str:
    proc.kill()
    _, err = proc.communicate(timeout=5)
    return (err or b"").decode(errors="replace").strip() or f"bwrap exited with {proc.returncode}"


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
