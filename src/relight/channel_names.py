"""What an image registry channel may be called (``production``, ``staging-eu``...): shared by
the registry (:mod:`relight.images.channels`) and the server's configuration, with no imports
of its own so that reading a configuration does not load the cloud's libraries."""

from __future__ import annotations

__all__ = ["channel_problem"]

_CHANNEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def channel_problem(channel: str) -> str | None:
    """Why ``channel`` is not a valid channel name, or None when it is."""
    if not channel or not set(channel) <= _CHANNEL_CHARS:
        return f"invalid channel name {channel!r}: use lower-case letters, digits, - and _"
    return None
