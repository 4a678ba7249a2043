"""The process entry point (console script ``facilitator``).

Commands that run the server patch the standard library for eventlet before
anything else is imported; every other command (and the tests) stays unpatched.
"""

from __future__ import annotations

import sys

SERVER_COMMANDS = {"serve", "demo"}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in SERVER_COMMANDS and not {"-h", "--help"} & set(args):
        # Imported after deciding: only the server commands patch for eventlet, first.
        from facilitator.core.runtime import async_mode_from_env, prepare_process

        prepare_process(async_mode_from_env())
    from facilitator.cli import cli  # after the patching above

    cli.main(args=args, prog_name="facilitator")


if __name__ == "__main__":
    main()
