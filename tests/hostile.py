"""Hostile strings: text people type that would run, restyle or reorder a page if a
screen or the PDF treated it as markup. Shared by the tests that type them.

Each script payload calls ``__xss(<n>)``; the browser tests define that function in
every page before its scripts run (and switch the Content-Security-Policy off, so
that only escaping stands between a payload and its execution). Every string is at
most 50 characters, so a tag such as ``"Note:"`` in front still fits the shortest
field (60 characters: a name, a sector).
"""

from __future__ import annotations

import re

HOSTILE: tuple[str, ...] = (
    "<script>__xss(1)</script>",
    "<img src=x onerror=__xss(2)>",
    "<svg onload=__xss(3)>",
    "<svg><script>__xss(4)</script></svg>",
    '"><img src=x onerror=__xss(5)>',
    "'><script>__xss(6)</script>",
    "javascript:__xss(7)",
    '<a href="javascript:__xss(8)">tap</a>',
    '<iframe src="javascript:top.__xss(9)">',
    "</style><style>*{display:none}</style>",
    "</textarea><script>__xss(11)</script>",
    "<details open ontoggle=__xss(12)>",
    "<math><style><img src=x onerror=__xss(13)>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "&lt;b&gt;bold&lt;/b&gt; &amp; &#60;i&#62;",
    # Bidirectional controls: a right-to-left override left open ("gnp.exe" would read
    # "exe.png"), an isolate and an embedding. Removed on input (facilitator/core/text.py);
    # Hebrew letters and the right-to-left mark (U+200F) are kept.
    "Amina \u202egnp.exe\u202c says",
    "\u2067\u05e9\u05dc\u05d5\u05dd\u2069 \u202bembed\u202c \u200fok",
    "\u202eunclosed override",
    "Robert'); DROP TABLE participants;--",
)

#: The explicit bidirectional controls the server removes from typed text.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """How a hostile string is stored and shown: itself, less the bidi controls."""
    return BIDI_CONTROLS.sub("", text)


assert all(len(s) <= 50 for s in HOSTILE), [s for s in HOSTILE if len(s) > 50]
assert len(set(map(shown, HOSTILE))) == len(HOSTILE), "each string must be told apart"
