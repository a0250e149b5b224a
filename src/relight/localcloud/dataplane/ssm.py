"""SSM Run Command: ``AWS-RunShellScript`` runs its commands inside the instance, as on AWS.

``send_command`` records one invocation per instance (``Pending``) and runs each on its own
thread: once the instance is up, the commands are written, as the SSM agent writes them, to
``/var/lib/amazon/ssm/<instance>/document/orchestration/<command>/awsrunShellScript/
0.awsrunShellScript/_script.sh`` and run with ``/bin/sh`` as root inside the sandbox, in
``workingDirectory`` (default: that directory), with ``executionTimeout`` seconds (default
3600). The full output stays beside the script (``stdout``, ``stderr``); the API returns the first
24,000 characters of stdout and 8,000 of stderr, as AWS does.

``get_command_invocation`` then reports (fields as AWS names them): ``Status`` ``Pending`` ->
``InProgress`` -> ``Success`` (exit code 0), ``Failed`` (any other exit code; ``StatusDetails``
``Undeliverable`` when the instance never came up) or ``TimedOut`` (killed after the timeout,
``ResponseCode`` 137 as the agent reports a preemptive stop); ``ResponseCode`` (-1 until the
script has finished); ``StandardOutputContent``; ``StandardErrorContent``; start, end and
elapsed times. Stopping or terminating the instance kills the command: ``Failed``, code 137.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relight.localcloud.dataplane.instances import InstanceRuntime
from relight.localcloud.dataplane.sandbox import INSTANCE_PATH

__all__ = ["DOCUMENT", "RunShellScript", "parse_parameters"]

DOCUMENT = "AWS-RunShellScript"
STDOUT_LIMIT = 24_000
STDERR_LIMIT = 8_000
DEFAULT_TIMEOUT = 3600.0
BOOT_WAIT = 120.0  # how long a command waits for its instance to come up
KILLED_CODE = 137


@dataclass(frozen=True)
class RunShellScript:
    """The parameters of one ``AWS-RunShellScript`` command, validated."""

    commands: tuple[str, ...]
    working_directory: str | None
    timeout: float


def parse_parameters(parameters: Mapping[str, Any]) -> RunShellScript | str:
    """The document's parameters, or the reason they are invalid (AWS's wording where known)."""
    unknown = sorted(set(parameters) - {"commands", "workingDirectory", "executionTimeout"})
    if unknown:
        return (
            f"AWS-RunShellScript has no parameter {unknown[0]!r} "
            "(it takes commands, workingDirectory, executionTimeout)"
        )
    commands = parameters.get("commands")
    if not isinstance(commands, list) or not commands or not all(isinstance(c, str) for c in commands):
        return "AWS-RunShellScript needs the parameter 'commands': a list of command lines"
    wd = parameters.get("workingDirectory") or [""]
    raw_timeout = (parameters.get("executionTimeout") or [str(int(DEFAULT_TIMEOUT))])[0]
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        return f"executionTimeout must be a number of seconds, not {raw_timeout!r}"
    if not 1 <= timeout <= 172800:
        return "executionTimeout must be between 1 and 172800 seconds"
    return RunShellScript(tuple(commands), str(wd[0]) or None, timeout)


class Invocation:
    """Runs one command in one instance and keeps its invocation record current.

    ``record`` is the dict the emulator serves from GetCommandInvocation; it is updated under
    ``mutate()`` (so a durable save never sees half an update); ``done`` is called once the
    record is final."""

    def __init__(
        self,
        record: MutableMapping[str, Any],
        runtime: InstanceRuntime | None,
        root: Callable[[], Path | None],
        script: RunShellScript,
        region: str,
        before_run: Callable[[], None],
        mutate: Callable[[], AbstractContextManager[None]],
        done: Callable[[], None],
    ) -> None:
        self.record = record
        self.runtime = runtime
        self._root = root
        self.script = script
        self.region = region
        self._before_run = before_run
        self._mutate = mutate
        self._done = done
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = False
        self._update(Status="Pending", StatusDetails="Pending", ResponseCode=-1, ExecutionStartDateTime="",
                     ExecutionEndDateTime="", ExecutionElapsedTime="", StandardOutputContent="",
                     StandardErrorContent="")  # fmt: skip

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"ssm-{self.record['CommandId'][:8]}", daemon=True).start()

    def kill(self) -> None:
        """Stop the command (its instance is stopping)."""
        self._killed = True
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)

    def _run(self) -> None:
        try:
            self._execute()
        except Exception as exc:  # a bug or I/O error must still end the invocation
            self._finish("Failed", "Failed", -1, "", f"the local cloud could not run the command: {exc}\n", 0.0)
        finally:
            self._done()

    def _execute(self) -> None:
        box = self.runtime.wait_running(BOOT_WAIT) if self.runtime is not None else None
        root = self._root()
        if box is None or root is None or self._killed:
            reason = (self.runtime.failure if self.runtime is not None else None) or "the instance is not running"
            self._finish("Failed", "Undeliverable", -1, "", f"{reason}\n", 0.0)
            return
        self._before_run()
        inside = (
            f"/var/lib/amazon/ssm/{self.record['InstanceId']}/document/orchestration/"
            f"{self.record['CommandId']}/awsrunShellScript/0.awsrunShellScript"
        )
        host_dir = root / inside.lstrip("/")
        host_dir.mkdir(parents=True, exist_ok=True)
        (host_dir / "_script.sh").write_text("\n".join(self.script.commands) + "\n")
        env = {
            "PATH": INSTANCE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "USER": "root",
            "AWS_SSM_INSTANCE_ID": str(self.record["InstanceId"]), "AWS_SSM_REGION_NAME": self.region,
        }  # fmt: skip
        started = time.monotonic()
        self._update(Status="InProgress", StatusDetails="InProgress", ExecutionStartDateTime=_now())
        with open(host_dir / "stdout", "wb") as out, open(host_dir / "stderr", "wb") as err:
            cwd = self.script.working_directory or inside
            self._proc = box.enter(["/bin/sh", f"{inside}/_script.sh"], env, cwd=cwd, stdout=out.fileno(),
                                   stderr=err.fileno())  # fmt: skip
            if self._killed:
                self.kill()
            try:
                code = self._proc.wait(timeout=self.script.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                self.kill()
                code = self._proc.wait()
                timed_out = True
        elapsed = time.monotonic() - started
        stdout = _head(host_dir / "stdout", STDOUT_LIMIT)
        stderr = _head(host_dir / "stderr", STDERR_LIMIT)
        if timed_out:
            self._finish("TimedOut", "ExecutionTimedOut", KILLED_CODE, stdout, stderr, elapsed)
        elif self._killed or code < 0:
            self._finish("Failed", "Failed", KILLED_CODE, stdout, stderr or "the instance stopped\n", elapsed)
        else:
            status = "Success" if code == 0 else "Failed"
            self._finish(status, status, code, stdout, stderr, elapsed)

    def _finish(self, status: str, details: str, code: int, stdout: str, stderr: str, elapsed: float) -> None:
        end = _now()
        self._update(
            Status=status,
            StatusDetails=details,
            ResponseCode=code,
            ExecutionStartDateTime=self.record.get("ExecutionStartDateTime") or end,
            ExecutionEndDateTime=end,
            ExecutionElapsedTime=f"PT{elapsed:.3f}S",
            StandardOutputContent=stdout,
            StandardErrorContent=stderr,
        )

    def _update(self, **fields: Any) -> None:
        with self._mutate():
            self.record.update(fields)

    @property
    def final(self) -> bool:
        return self.record.get("Status") in ("Success", "Failed", "TimedOut", "Cancelled")


def aggregate_status(statuses: list[str]) -> str:
    """A command's status from its invocations' (AWS: the worst final one once all are final)."""
    if any(s in ("Pending", "InProgress") for s in statuses):
        return "InProgress" if any(s != "Pending" for s in statuses) else "Pending"
    for worst in ("TimedOut", "Failed", "Cancelled"):
        if worst in statuses:
            return worst
    return "Success"


def _head(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(limit * 4)
    except OSError:
        return ""
    return data.decode(errors="replace")[:limit]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
