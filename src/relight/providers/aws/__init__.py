"""The ``aws`` provider (boto3). This package is the only place relight imports boto3."""

from relight.providers.aws.provider import AwsProvider

__all__ = ["AwsProvider"]
