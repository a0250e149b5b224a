"""The ``aws`` provider (boto3). This package is the only place relight imports boto3.

:class:`AwsApi` (with :class:`AwsSettings` and :class:`AwsError`) is the boundary every other
AWS user goes through too (image builds, rehearsals): clients, calls with botocore's errors
translated, waiters, and the run's cloud clock.
"""

from relight.providers.aws._api import AwsApi, AwsError, AwsSettings
from relight.providers.aws.provider import AwsProvider
from relight.providers.aws.relight_image import RelightProvider

__all__ = ["AwsApi", "AwsError", "AwsProvider", "AwsSettings", "RelightProvider"]
