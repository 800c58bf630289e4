"""``python -m tests.revocation``: a hunt of the revocation checker from the command line.

    python -m tests.revocation                                  # every scenario, the budget
    python -m tests.revocation --seconds 600 --seed 7           # a longer hunt, other seeds
    python -m tests.revocation --scenario sqlite-threads --seed 20260042 --histories 1

``--seconds`` is the whole hunt's, shared by the scenarios (default ``BAAS_CHECKER_BUDGET_S``, or
CI's fixed budget under ``CI=true``); ``--seed`` the first history's seed (then +1 each). Exits
1 when an answer disagrees with a fresh decision, after printing the seed and a minimal history.
"""

from __future__ import annotations

import argparse
import logging
import sys

from tests.revocation.checker import SCENARIOS, budget_s, first_seed, hunt, resources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.revocation", description=__doc__)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=None, help="the whole hunt's budget")
    parser.add_argument("--seed", type=int, default=None, help="the first history's seed")
    parser.add_argument("--histories", type=int, default=None, help="exactly this many each")
    parser.add_argument("--shrink-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    # Store failures on a restarted Redis are expected there; the findings say what matters.
    logging.getLogger("baas_auth").addHandler(logging.NullHandler())
    names = args.scenario or sorted(SCENARIOS)
    seconds = budget_s() if args.seconds is None else args.seconds
    seed = first_seed() if args.seed is None else args.seed
    failed = False
    with resources() as shared:  # one redis-server and one writer process for them all
        for name in names:
            report = hunt(
                SCENARIOS[name],
                seconds=seconds / len(names),
                first_seed=seed,
                histories=args.histories,
                shrink_seconds=args.shrink_seconds,
                shared=shared,
            )
            print(report.summary(), flush=True)
            failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
