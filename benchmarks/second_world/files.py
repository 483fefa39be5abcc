"""Write the second world: one mixed registry file, its mapping, and the truth files.

- ``registry.csv``: every kind of record in one file, in shuffled order, with a ``kind``
  column, the registry's own column names and order;
- ``registry.yaml``: the mapping `caseline ingest --mapping` reads (docs/mapping.md);
- ``truth.csv``: each record's true person, in the form `caseline evaluate` reads
  (``source``, ``source_key``, ``entity_id``, ``group``), with the record's ``kind``, the
  ``slips`` planted in it and its ``true_address``;
- ``persons.csv``: each true person's ``status`` and ``current_address`` on the as-of date
  (what `caseline simulate --truth-persons` and `caseline evaluate addresses --current` read).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .habits import AddressSlips
from .kinds import Drawn, PersonRecords
from .population import read_population

SOURCE = "county_registry"
COLUMNS = (
    "kind", "ref", "person_name", "recorded", "home", "born", "sex_code", "program_status",
    "status_date", "opened", "closed", "dl_no", "tax_no", "alien_no", "travel_doc",
    "nationality", "direction",
)  # fmt: skip
MAPPING = f"""\
# The second world's registry: six kinds of record in one file (benchmarks/second_world).
source: {SOURCE}
key: ref
fields:
  full_name: person_name
  date_of_birth: {{column: born, format: "%B %d, %Y"}}
  sex: sex_code
  address: home
  licence_number: dl_no
  ssn: tax_no
  a_number: alien_no
  passport_number: travel_doc
  citizenship: nationality
  status: program_status
  status_on: {{column: status_date, format: "%d.%m.%Y"}}
  observed_on: {{column: recorded, format: "%d.%m.%Y"}}
  valid_from: {{column: opened, format: "%d-%b-%Y"}}
  valid_to: {{column: closed, format: "%d-%b-%Y"}}
"""
TRUTH_COLUMNS = ("source", "source_key", "entity_id", "group", "kind", "slips", "true_address")


@dataclass(frozen=True, slots=True)
class SecondWorld:
    """What was written, and where."""

    out_dir: Path
    persons: int
    records_by_kind: dict[str, int]
    slips: dict[str, int]  # how many records carry each planted slip

    @property
    def records(self) -> int:
        return sum(self.records_by_kind.values())

    @property
    def registry(self) -> Path:
        return self.out_dir / "registry.csv"

    @property
    def mapping(self) -> Path:
        return self.out_dir / "registry.yaml"

    @property
    def truth(self) -> Path:
        return self.out_dir / "truth.csv"

    @property
    def truth_persons(self) -> Path:
        return self.out_dir / "persons.csv"


def write_second_world(
    world: Path,
    out_dir: Path,
    *,
    seed: int = 1,
    as_of: dt.date = dt.date(2026, 1, 1),
    slips: AddressSlips | None = None,
) -> SecondWorld:
    """Render the population of the generated ``world`` as the registry would record it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    population = read_population(world)
    drawn: list[Drawn] = []
    for person in population:
        drawn += PersonRecords(person, seed, as_of, slips or AddressSlips()).draw()
    order = random.Random(f"second-world:{seed}:order")
    order.shuffle(drawn)
    refs = order.sample(range(10**7, 10**8), len(drawn))
    with (
        (out_dir / "registry.csv").open("w", newline="", encoding="utf-8") as registry,
        (out_dir / "truth.csv").open("w", newline="", encoding="utf-8") as truth,
    ):
        rows = csv.DictWriter(registry, COLUMNS, quoting=csv.QUOTE_MINIMAL)
        truths = csv.writer(truth)
        rows.writeheader()
        truths.writerow(TRUTH_COLUMNS)
        for record, number in zip(drawn, refs, strict=True):
            ref = f"{number // 10**4:04d}/{number % 10**4:04d}"
            rows.writerow({**record.values, "ref": ref})
            truths.writerow(
                (SOURCE, ref, record.entity_id, record.group, record.kind,
                 ";".join(record.slips), record.true_address)
            )  # fmt: skip
    (out_dir / "registry.yaml").write_text(MAPPING, encoding="utf-8")
    with (out_dir / "persons.csv").open("w", newline="", encoding="utf-8") as handle:
        persons = csv.writer(handle)
        persons.writerow(("entity_id", "status", "current_address", "group"))
        for person in population:
            persons.writerow(
                (person.entity_id, person.status, person.current_address, person.group)
            )
    slip_counts = Counter(slip for record in drawn for slip in record.slips)
    return SecondWorld(
        out_dir,
        len(population),
        dict(Counter(record.kind for record in drawn)),
        dict(sorted(slip_counts.items())),
    )
