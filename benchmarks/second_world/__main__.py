"""Write the second world from a generated world: `python -m benchmarks.second_world`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from .files import write_second_world


def main() -> None:
    parser = argparse.ArgumentParser(description="write the second world from a generated one")
    parser.add_argument("--world", type=Path, required=True, help="a `caseline generate` folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1))
    args = parser.parse_args()
    written = write_second_world(args.world, args.out, seed=args.seed, as_of=args.as_of)
    print(f"{written.records:,} records of {written.persons:,} persons -> {written.registry}")
    print(
        json.dumps(
            {
                "persons": written.persons,
                "records": written.records,
                "by_kind": written.records_by_kind,
                "slips": written.slips,
            }
        )
    )


if __name__ == "__main__":
    main()
