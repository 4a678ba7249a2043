"""Renders one plan PDF: a JSON request on stdin, the PDF on stdout.

Run by :func:`facilitator.exports.render` as a child process, so rendering never
holds the server's interpreter and its memory is returned when it ends.
"""

from __future__ import annotations

import json
import os
import sys

#: Below the server's priority: a render waits rather than slowing the live room.
NICENESS = 10


def main() -> int:
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not permitted
        pass
    from .pdf import render_plan_pdf

    try:
        request = json.loads(sys.stdin.buffer.read())
        plan = json.loads(request["plan"])
        pdf = render_plan_pdf(plan, request["digest"], request["signatures"])
    except Exception as exc:  # reported to the server as one line
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
