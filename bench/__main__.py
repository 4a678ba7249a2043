"""``python -m bench <scenario> [--json] [--clients 50,200,500] [--rounds R] [--repeat K]``.

Figures go to stdout (one JSON object with ``--json``, else a table); progress
and server trouble go to stderr. Each scenario is a module of this package with
``NAME``, ``DEFAULT_CLIENTS``, ``add_arguments(parser)``, ``run(args) -> dict``
and ``format_table(result) -> str``; add it to :data:`SCENARIOS`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from types import ModuleType

from .common import install_cleanup, positive_list, raise_nofile, setup_logging

SCENARIOS = {
    "board": "bench.board",
    "page_weight": "bench.page_weight",
    "pdf": "bench.pdf",
    "scale": "bench.scale",
    "stage": "bench.stage",
    "vote_storm": "bench.vote_storm",
}

log = logging.getLogger("bench")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the real Facilitator server; see bench/README.md.",
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS), help="what to measure")
    parser.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    parser.add_argument(
        "--clients", type=positive_list, help="numbers of simulated phones, e.g. 50,200,500"
    )
    parser.add_argument(
        "--rounds", type=positive, help="timed rounds per measurement (stage; default 20)"
    )
    parser.add_argument(
        "--repeat",
        type=positive,
        help="measure each N this many times, on fresh servers; "
        "figures are the medians (scenario default: 3)",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        default=2,
        help="client worker processes per server under test (default 2)",
    )
    parser.add_argument(
        "--connect-concurrency",
        type=positive,
        default=16,
        help="simultaneous connects per client worker (default 16)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def load(argv: list[str]) -> tuple[ModuleType, argparse.Namespace]:
    parser = build_parser()
    known, _rest = parser.parse_known_args(argv)
    module = importlib.import_module(SCENARIOS[known.scenario])
    module.add_arguments(parser)
    return module, parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    module, args = load(sys.argv[1:] if argv is None else argv)
    setup_logging(args.verbose)
    install_cleanup()
    limit = raise_nofile()
    log.info("scenario %s; open files limit %d", args.scenario, limit)
    try:
        result = module.run(args)
    except KeyboardInterrupt:
        log.error("interrupted; servers and clients stopped")
        return 130
    except SystemExit:
        log.error("stopped by a signal; servers and clients stopped")
        raise
    except Exception:
        log.exception("the benchmark failed")
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print(module.format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
