"""Grapheme clusters: strings are measured in user-perceived characters.

A compact approximation of Unicode's segmentation rules (UAX #29): combining marks, joiners,
emoji modifiers, regional-indicator flags, Hangul syllables and CRLF.
"""

from __future__ import annotations

import unicodedata

_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or char == _ZWJ
    )


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _hangul(char: str) -> str:
    """The Hangul syllable type of a character: L, V, T, LV, LVT or "" for none."""
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97F:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {("L", "L"), ("L", "V"), ("L", "LV"), ("L", "LVT"), ("LV", "V"), ("LV", "T"),
                 ("V", "V"), ("V", "T"), ("LVT", "T"), ("T", "T")}  # fmt: skip


def graphemes(text: str) -> list[str]:
    clusters: list[str] = []
    for char in text:
        if clusters:
            last = clusters[-1]
            joins = (
                _extends(char)
                or last[-1] == _ZWJ
                or (last == "\r" and char == "\n")
                or (len(last) == 1 and _is_regional(last) and _is_regional(char))
                or (_hangul(last[-1]), _hangul(char)) in _HANGUL_JOINS
            )
            if joins and not (last[-1] in "\r\n" and char != "\n"):
                clusters[-1] = last + char
                continue
        clusters.append(char)
    return clusters
