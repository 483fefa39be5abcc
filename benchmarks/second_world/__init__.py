"""A second world to measure on: the population of a generated world, recorded by one county
registry with habits the generator never uses (issue 20).

    .venv/bin/caseline generate --persons 20000 --seed 1 --out W
    .venv/bin/python -m benchmarks.second_world --world W --out D [--seed 1]

It reads the world's truth files (persons, residences, statuses) and nothing of its source
files, then writes one CSV of six kinds of record mixed (licence, filing, account, benefit,
hearing, crossing), a mapping for `caseline ingest --mapping`, and the truth in the forms
`caseline evaluate`, `caseline evaluate addresses` and `caseline simulate` read. Its habits:
its own column names and order; dates as "March 5, 1985", "05.03.2019" and "05-Mar-2019"
(one form per column); names as "SURNAME, Given Middle"; one-line quoted addresses in three
layouts, with ZIP codes missing or a digit off, units missing, glued (APT14) or broken
(AP T14), a letter or two off in the street, house-number digits swapped; service accounts
with a name and an address only; its own identifier formats. Deterministic for a seed.
`benchmarks/second_world_measure.py` measures Caseline on it beside the world.
"""

from .files import SOURCE, SecondWorld, write_second_world
from .habits import ADDRESS_VARIANTS, AddressSlips
from .kinds import KINDS

__all__ = ["ADDRESS_VARIANTS", "KINDS", "SOURCE", "AddressSlips", "SecondWorld",
           "write_second_world"]  # fmt: skip
