"""The boundary with boto3: clients, calls with translated errors, waiters, and a cloud clock.

Everything that touches botocore goes through :class:`AwsApi`, so vendor exceptions are
translated in exactly one place (into :class:`relight.providers.framework.CallError`, which the
framework turns into a diagnostic naming the call and the AWS error code). The engine adds the
resource address.

Every call and every wait is timed on :data:`relight.providers.clock.CLOCK`, so a run can say
how much of its time was spent waiting on the cloud.

Clients are cached per process and per settings: a long-running ``relight watch`` builds them
once (creating a boto3 client loads its service model, which costs tens of milliseconds).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import boto3
import botocore
import botocore.exceptions
from botocore.config import Config as BotoConfig

from relight.providers.clock import CLOCK, CloudClock
from relight.providers.framework import CallError

__all__ = ["CLOCK", "SERVICES", "AwsApi", "AwsError", "AwsSettings", "CloudClock"]

_T = TypeVar("_T")

SERVICES = ("ec2", "cloudwatch", "route53", "sts", "s3")


class AwsSettings:
    """The evaluated ``provider "aws"`` block, with Terraform's names."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.region: str | None = _opt_str(config.get("region"))
        self.profile: str | None = _opt_str(config.get("profile"))
        self.access_key: str | None = _opt_str(config.get("access_key"))
        self.secret_key: str | None = _opt_str(config.get("secret_key"))
        self.token: str | None = _opt_str(config.get("token"))
        retries = config.get("max_retries")
        self.max_retries = int(retries) if isinstance(retries, int | float) and not isinstance(retries, bool) else 4
        self.s3_path_style = config.get("s3_use_path_style") is True
        self.endpoints: dict[str, str] = {}
        raw = config.get("endpoints")
        blocks = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
        for block in blocks:
            if isinstance(block, dict):
                self.endpoints.update({k: str(v) for k, v in block.items() if v is not None})


# boto3 clients are thread-safe and costly to build; share them across runs of this process.
_CLIENTS: dict[tuple[object, ...], Any] = {}
_SESSIONS: dict[tuple[object, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class AwsApi:
    """boto3 clients for one configured provider, created lazily and shared across threads."""

    def __init__(self, settings: AwsSettings, clock: CloudClock = CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        key = (settings.access_key, settings.secret_key, settings.token, settings.region, settings.profile, _aws_env())
        with _CLIENTS_LOCK:
            session = _SESSIONS.get(key)
            if session is None:
                session = boto3.session.Session(
                    aws_access_key_id=settings.access_key,
                    aws_secret_access_key=settings.secret_key,
                    aws_session_token=settings.token,
                    region_name=settings.region,
                    profile_name=settings.profile,
                )
                _SESSIONS[key] = session
        self._session = session
        self.region: str | None = session.region_name
        self._account: str | None = None

    def client(self, service: str) -> Any:
        key = self._cache_key(service)
        with _CLIENTS_LOCK:
            found = _CLIENTS.get(key)
            if found is None:
                config = BotoConfig(
                    retries={"mode": "standard", "max_attempts": self.settings.max_retries + 1},
                    max_pool_connections=32,
                    connect_timeout=10,
                    read_timeout=60,
                    s3={"addressing_style": "path"} if self.settings.s3_path_style else None,
                )
                found = self._session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.settings.endpoints.get(service),
                    config=config,
                )
                _CLIENTS[key] = found
            return found

    def _cache_key(self, service: str) -> tuple[object, ...]:
        s = self.settings
        env = _aws_env()
        return (
            service,
            self.region,
            s.profile,
            s.access_key,
            s.secret_key,
            s.token,
            s.max_retries,
            s.endpoints.get(service),
            s.s3_path_style,
            env,
        )

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``service.operation(**params)``; a refusal raises CallError naming op and code."""
        method = getattr(self.client(service), _snake(operation))
        self.clock.enter()
        try:
            result: dict[str, Any] = method(**params)
            return result
        except botocore.exceptions.ClientError as exc:
            raise translate(operation, exc) from None
        except botocore.exceptions.NoCredentialsError:
            raise CallError(
                f"{operation} failed: no AWS credentials",
                "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE or "
                "profile in the provider block), or run `relight local-cloud` and use the "
                "exports it prints.",
            ) from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise CallError(
                f"{operation} failed: cannot reach the AWS endpoint",
                f"{exc}. If you use the local cloud, is `relight local-cloud` still running?",
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise CallError(f"{operation} failed", f"{type(exc).__name__}: {exc}") from None
        finally:
            self.clock.leave()

    def account_id(self) -> str:
        """The account these credentials act in (STS GetCallerIdentity, asked once): ARNs such as a
        volume's carry it, and no EC2 describe call returns it."""
        if self._account is None:
            self._account = str(self.call("sts", "GetCallerIdentity")["Account"])
        return self._account

    def try_call(self, service: str, operation: str, missing: tuple[str, ...], **params: Any) -> dict[str, Any] | None:
        """Like :meth:`call`, but an error whose code is in ``missing`` returns None (gone)."""
        try:
            return self.call(service, operation, **params)
        except AwsError as exc:
            if exc.code in missing:
                return None
            raise

    def wait(self, what: str, probe: Callable[[], _T | None], timeout: float, interval: float = 0.25) -> _T:
        """Poll ``probe`` until it returns a value; back off up to 5 s between tries.

        Raises CallError after ``timeout`` seconds, naming what it waited for. The time spent
        sleeping counts as cloud time on the clock.
        """
        deadline = time.monotonic() + timeout
        delay = interval
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() + delay > deadline:
                raise CallError(
                    f"Timed out after {timeout:.0f}s waiting for {what}",
                    "The cloud did not reach the expected state in time. Run plan again to see "
                    "where it stands; the object is recorded in state if it was created.",
                )
            self.sleep(delay)
            delay = min(delay * 2, 5.0)

    def sleep(self, seconds: float) -> None:
        """Wait for the cloud (counted as cloud time on the clock)."""
        self.clock.enter()
        try:
            time.sleep(seconds)
        finally:
            self.clock.leave()


class AwsError(CallError):
    """An AWS API refusal, with its error code kept for callers that expect some codes."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}", message)
        self.operation = operation
        self.code = code


def translate(operation: str, exc: botocore.exceptions.ClientError) -> AwsError:
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = err.get("Message")
    if not message or message == "None":
        message = "AWS gave no further detail."
    return AwsError(operation, code, message)


def _aws_env() -> tuple[tuple[str, str], ...]:
    """The AWS_* environment: part of every cache key, so a changed endpoint or key is honoured."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def _snake(operation: str) -> str:
    name: str = botocore.xform_name(operation)
    return name


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
