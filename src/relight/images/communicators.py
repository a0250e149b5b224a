"""How provisioners reach the build instance: SSM Run Command (the default) or SSH.

Both offer the same two operations: :meth:`run` a script as root (with environment variables,
a timeout, its output streamed to the build log) and :meth:`upload` files. A command that
cannot be delivered or times out raises :class:`CallError`; a script's exit code is returned.

* :class:`SsmCommunicator` sends ``AWS-RunShellScript`` (the SSM agent on AWS; the local
  cloud's data plane runs it in the instance's sandbox) and polls ``GetCommandInvocation``.
  Files travel base64-encoded in the command, in chunks well under SSM's parameter limit.
* :class:`SshCommunicator` (``communicator = "ssh"``) connects with paramiko using the build's
  temporary key pair, retrying until ``ssh_timeout``.
"""

from __future__ import annotations

import base64
import io
import shlex
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from relight.images.cloud import AwsError, CallError, Cloud

__all__ = ["Communicator", "SshCommunicator", "SsmCommunicator", "wrap_script"]

_CHUNK = 32_000  # bytes of base64 per SSM command line (AWS allows about 64 KB of parameters)


class Communicator(Protocol):
    def connect(self, timeout: float) -> None: ...

    def run(self, script: bytes, env: Sequence[str], timeout: float, say: Callable[[str], None]) -> int: ...

    def upload(self, path: str, mode: int, content: bytes) -> None: ...

    def close(self) -> None: ...


def wrap_script(remote: str, env: Sequence[str]) -> str:
    """The command that runs the uploaded script ``remote`` with ``env`` exported (Packer's
    default ``chmod +x {{.Path}}; {{.Vars}} {{.Path}}``)."""
    exports = " ".join(shlex.quote(e) for e in env)
    return f"chmod +x {shlex.quote(remote)} && env {exports} {shlex.quote(remote)}"


class SsmCommunicator:
    def __init__(self, cloud: Cloud, instance_id: str) -> None:
        self.cloud = cloud
        self.instance_id = instance_id

    def connect(self, timeout: float) -> None:
        """Wait until the instance accepts commands (its agent registered)."""

        def ready() -> bool | None:
            try:
                code = self._command(["true"], 60, lambda _: None, wait_timeout=60)
            except AwsError as exc:
                if exc.code in ("InvalidInstanceId", "InvalidInstanceInformationFilterValue"):
                    return None
                raise
            return True if code == 0 else None

        self.cloud.wait(f"the SSM agent of {self.instance_id}", ready, timeout, interval=1.0)

    def run(self, script: bytes, env: Sequence[str], timeout: float, say: Callable[[str], None]) -> int:
        remote = f"/tmp/relight-script-{int(time.time() * 1000)}.sh"
        self.upload(remote, 0o700, script)
        return self._command(
            [wrap_script(remote, env), f"status=$?; rm -f {shlex.quote(remote)}; exit $status"], timeout, say
        )

    def upload(self, path: str, mode: int, content: bytes) -> None:
        encoded = base64.b64encode(content).decode("ascii")
        tmp = shlex.quote(path + ".relight-upload")
        b64 = shlex.quote(path + ".relight-upload.b64")
        chunks = [encoded[i : i + _CHUNK] for i in range(0, len(encoded), _CHUNK)] or [""]
        head = ["set -e", f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0] or '/')}", f"rm -f {b64}"]
        final = [
            f"base64 -d {b64} > {tmp}",
            f"rm -f {b64}",
            f"chmod {mode:o} {tmp}",
            f"mv -f {tmp} {shlex.quote(path)}",
        ]
        for n, chunk in enumerate(chunks):
            commands = (head if n == 0 else ["set -e"]) + [f"printf %s {shlex.quote(chunk)} >> {b64}"]
            if n == len(chunks) - 1:
                commands += final
            code = self._command(commands, 300, lambda _: None)
            if code != 0:
                raise CallError(f"Uploading {path} failed", f"the upload command exited with {code}.")

    def _command(
        self, commands: list[str], timeout: float, say: Callable[[str], None], wait_timeout: float | None = None
    ) -> int:
        sent = self.cloud.call(
            "ssm",
            "SendCommand",
            InstanceIds=[self.instance_id],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": commands, "executionTimeout": [str(int(max(1, timeout)))]},
        )
        command_id = sent["Command"]["CommandId"]

        def finished() -> dict[str, Any] | None:
            found = self.cloud.try_call(
                "ssm",
                "GetCommandInvocation",
                ("InvocationDoesNotExist",),
                CommandId=command_id,
                InstanceId=self.instance_id,
            )
            if found is None or found.get("Status") in ("Pending", "InProgress", "Delayed"):
                return None
            return found

        result = self.cloud.wait(f"command {command_id}", finished, (wait_timeout or timeout) + 30, interval=0.1)
        for line in str(result.get("StandardOutputContent", "")).splitlines():
            say(line)
        for line in str(result.get("StandardErrorContent", "")).splitlines():
            say(line)
        if result.get("Status") == "TimedOut":
            raise CallError(
                f"The command timed out after {timeout:.0f}s", f"SSM command {command_id} on {self.instance_id}."
            )
        code = int(result.get("ResponseCode", -1))
        return code

    def close(self) -> None:
        return None


class SshCommunicator:
    """SSH as ``username`` with the private key ``key_pem``, at ``host``:``port``."""

    def __init__(self, host: str, port: int, username: str, key_pem: str) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.key_pem = key_pem
        self._client: Any = None

    def connect(self, timeout: float) -> None:
        import paramiko

        key = _load_key(self.key_pem)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            try:
                client.connect(
                    self.host, self.port, username=self.username, pkey=key, timeout=10,
                    allow_agent=False, look_for_keys=False, banner_timeout=10, auth_timeout=10,
                )  # fmt: skip
                self._client = client
                return
            except (TimeoutError, paramiko.SSHException, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                client.close()
                time.sleep(1.0)
        raise CallError(f"Timed out after {timeout:.0f}s waiting for SSH on {self.host}:{self.port}", last)

    def run(self, script: bytes, env: Sequence[str], timeout: float, say: Callable[[str], None]) -> int:
        remote = f"/tmp/relight-script-{int(time.time() * 1000)}.sh"
        self.upload(remote, 0o700, script)
        stdin, stdout, _ = self._client.exec_command(
            f"{wrap_script(remote, env)} 2>&1; s=$?; rm -f {remote}; exit $s", timeout=timeout
        )
        stdin.close()
        for line in iter(stdout.readline, ""):
            say(line.rstrip("\n"))
        return int(stdout.channel.recv_exit_status())

    def upload(self, path: str, mode: int, content: bytes) -> None:
        """Through the shell (``cat`` into a temporary file, then rename), so any SSH server that
        runs commands will do (no SFTP subsystem needed)."""
        tmp = shlex.quote(path + ".relight-upload")
        parent = shlex.quote(path.rsplit("/", 1)[0] or "/")
        command = f"mkdir -p {parent} && cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {shlex.quote(path)}"
        stdin, stdout, _ = self._client.exec_command(command)
        stdin.write(content)
        stdin.channel.shutdown_write()
        code = int(stdout.channel.recv_exit_status())
        if code != 0:
            raise CallError(f"Uploading {path} failed", f"the upload command exited with {code}.")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _load_key(pem: str) -> Any:
    import paramiko

    for kind in (paramiko.RSAKey, paramiko.Ed25519Key, paramiko.ECDSAKey):
        try:
            return kind.from_private_key(io.StringIO(pem))
        except (paramiko.SSHException, ValueError):
            continue
    raise CallError("The build's SSH key cannot be read", "The key pair's private key is not RSA, Ed25519 or ECDSA.")
