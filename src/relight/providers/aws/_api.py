"""The boundary with boto3: clients, calls with translated errors, waiters, and a cloud clock.

Everything that touches botocore goes through :class:`AwsApi`, so vendor exceptions are
translated in exactly one place (into :class:`relight.providers.framework.CallError`, which the
framework turns into a diagnostic naming the call and the AWS error code). The engine adds the
resource address.

Every call and every wait is timed on the run's :class:`~relight.providers.clock.CloudClock`,
so a run can say how much of its time was spent waiting on the cloud.

Settings come from the provider block and the run's environment (``ProviderContext``), never
from ``os.environ``. Sessions and clients are shared between runs with the same settings in a
bounded cache: a long-running ``relight watch`` or server builds them once (creating a boto3
client loads its service model, which costs tens of milliseconds).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import boto3
import botocore
import botocore.exceptions
from botocore.config import Config as BotoConfig

from relight.providers.clock import CloudClock
from relight.providers.framework import CallError

__all__ = ["LOCAL_CLOUD_HEADER", "SERVICES", "AwsApi", "AwsError", "AwsSettings"]

_T = TypeVar("_T")

SERVICES = ("ec2", "cloudwatch", "route53", "sts", "s3", "ssm")
# relight's local cloud marks every answer with this header (its value names the emulator), so
# the provider can say which settings the emulator cannot apply (see _gaps.py).
LOCAL_CLOUD_HEADER = "x-relight-local-cloud"


class AwsSettings:
    """The evaluated ``provider "aws"`` block with Terraform's names, completed from the run's
    environment (never from ``os.environ``) as boto3's chain would complete it.

    Precedence, as boto3's: the block's value, then ``AWS_*`` variables of the run. Keys from
    the environment are not used when the block names a ``profile`` (the profile decides). What
    neither sets is left to boto3 (shared config files, SSO, instance roles).
    """

    def __init__(self, config: Mapping[str, Any], environment: Mapping[str, str] | None = None) -> None:
        env = environment or {}
        self.profile: str | None = _opt_str(config.get("profile"))
        profile_from_block = self.profile is not None
        self.profile = self.profile or _opt_str(env.get("AWS_PROFILE"))
        self.region: str | None = (
            _opt_str(config.get("region")) or _opt_str(env.get("AWS_REGION")) or _opt_str(env.get("AWS_DEFAULT_REGION"))
        )
        self.access_key: str | None = _opt_str(config.get("access_key"))
        self.secret_key: str | None = _opt_str(config.get("secret_key"))
        self.token: str | None = _opt_str(config.get("token"))
        if self.access_key is None and not profile_from_block:
            self.access_key = _opt_str(env.get("AWS_ACCESS_KEY_ID"))
            self.secret_key = _opt_str(env.get("AWS_SECRET_ACCESS_KEY"))
            self.token = _opt_str(env.get("AWS_SESSION_TOKEN"))
        retries = config.get("max_retries")
        self.max_retries = int(retries) if isinstance(retries, int | float) and not isinstance(retries, bool) else 4
        self.s3_path_style = config.get("s3_use_path_style") is True
        self.endpoints: dict[str, str] = {}
        raw = config.get("endpoints")
        blocks = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
        for block in blocks:
            if isinstance(block, dict):
                self.endpoints.update({k: str(v) for k, v in block.items() if v is not None})
        shared = _opt_str(env.get("AWS_ENDPOINT_URL"))
        for service in SERVICES:
            found = _opt_str(env.get(f"AWS_ENDPOINT_URL_{service.upper()}")) or shared
            if service not in self.endpoints and found:
                self.endpoints[service] = found

    def session_key(self) -> tuple[object, ...]:
        return (self.access_key, self.secret_key, self.token, self.region, self.profile)


class _Lru:
    """A small thread-safe least-recently-used cache: boto3 sessions and clients are costly to
    build (tens of milliseconds each) and thread-safe, so runs with the same settings share
    them; the bound keeps a long-lived server that meets many settings from growing forever."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
            found = build()
            self._items[key] = found
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return found

    def __len__(self) -> int:
        return len(self._items)


_SESSIONS = _Lru(16)
_CLIENTS = _Lru(64)


class AwsApi:
    """boto3 clients for one configured provider, created lazily and shared across threads.

    Every call and wait is timed on ``clock``, the clock of the run this provider serves.
    """

    def __init__(self, settings: AwsSettings, clock: CloudClock) -> None:
        self.settings = settings
        self.clock = clock
        self._session = _SESSIONS.get(settings.session_key(), lambda: _new_session(settings))
        self.region: str | None = self._session.region_name
        self._account: str | None = None
        self._emulator: str | None = None  # None: not known yet; "": AWS; else the local cloud

    def client(self, service: str) -> Any:
        s = self.settings
        key = (*s.session_key(), service, self.region, s.max_retries, s.endpoints.get(service), s.s3_path_style)
        return _CLIENTS.get(key, lambda: self._new_client(service))

    def _new_client(self, service: str) -> Any:
        config = BotoConfig(
            retries={"mode": "standard", "max_attempts": self.settings.max_retries + 1},
            max_pool_connections=32,
            connect_timeout=10,
            read_timeout=60,
            # The endpoint comes from the provider block or the run's environment (resolved in
            # AwsSettings); botocore must not add its own from os.environ or ~/.aws/config.
            ignore_configured_endpoint_urls=True,
            s3={"addressing_style": "path"} if self.settings.s3_path_style else None,
        )
        return self._session.client(
            service, region_name=self.region, endpoint_url=self.settings.endpoints.get(service), config=config
        )

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``service.operation(**params)``; a refusal raises CallError naming op and code."""
        method = getattr(self.client(service), _snake(operation))
        self.clock.enter()
        try:
            result: dict[str, Any] = method(**params)
            if self._emulator is None:
                headers = result.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                self._emulator = str(headers.get(LOCAL_CLOUD_HEADER) or "")
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

    def emulator(self) -> str | None:
        """The emulator these clients talk to (relight's local cloud, e.g. "moto 5.2.5"), or None
        on AWS. Known from the first answer; asks STS once if nothing was called yet."""
        if self._emulator is None:
            self.account_id()
        return self._emulator or None

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

    @property
    def missing(self) -> bool:
        return self.code.endswith("NotFound") or self.code.startswith("NoSuch")


def translate(operation: str, exc: botocore.exceptions.ClientError) -> AwsError:
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = err.get("Message")
    if not message or message == "None":
        message = "AWS gave no further detail."
    return AwsError(operation, code, message)


def _new_session(settings: AwsSettings) -> Any:
    return boto3.session.Session(
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        aws_session_token=settings.token,
        region_name=settings.region,
        profile_name=settings.profile,
    )


def _snake(operation: str) -> str:
    name: str = botocore.xform_name(operation)
    return name


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
