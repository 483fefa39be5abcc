"""Where people live: a fixed gazetteer of fictional places and streets, and addresses in them.

Places are Zipf-weighted (a few big metros, a long tail) and each naming group has a few hub
places that hold a third of its homes, so people with the same common name live near each other.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import NamedTuple

from faker import Faker
from faker.providers.address.en_US import Provider as EnglishAddresses
from faker.providers.person.en_US import Provider as EnglishNames

from caseline.synth.names import GROUPS

PLACE_COUNT = 1500
STREET_COUNT = 12000
STREETS_PER_PLACE = 60
HUBS_PER_GROUP = 4
HUB_SHARE = 0.35  # of a group's homes that are in its hub places (a diaspora's metro areas)


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    state: str
    postcode: str


class Address(NamedTuple):
    street_number: str
    street: str
    unit: str | None
    city: str
    state: str
    postcode: str

    @property
    def line(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.street_number} {self.street}{unit}"

    @property
    def one_line(self) -> str:
        return f"{self.line}, {self.city}, {self.state} {self.postcode}"


@dataclass(frozen=True, slots=True)
class Gazetteer:
    places: tuple[Place, ...]
    streets: tuple[str, ...]
    cumulative_by_group: dict[str, tuple[float, ...]]

    def draw_place(self, rng: random.Random, group: str) -> int:
        weights = self.cumulative_by_group[group]
        return bisect(weights, rng.random() * weights[-1])

    def draw_address(self, rng: random.Random, place_index: int, *, renter: bool) -> Address:
        place = self.places[place_index]
        street = self.streets[
            (place_index * 7919 + rng.randrange(STREETS_PER_PLACE) * 104729) % len(self.streets)
        ]
        number = str(int(math.exp(rng.uniform(0, math.log(20000)))))
        unit = None
        if rng.random() < (0.7 if renter else 0.05):
            unit = f"Apt {rng.randrange(1, 40)}{rng.choice(('', '', 'A', 'B', 'C'))}"
        return Address(number, street, unit, place.city, place.state, place.postcode)


def _street_names(rng: random.Random) -> tuple[str, ...]:
    """Faker's street-name pattern ('<name> <suffix>') drawn straight from its word lists,
    which is many times faster than calling Faker once per street."""
    names = sorted({*EnglishNames.first_names, *EnglishNames.last_names})
    suffixes = sorted(set(EnglishAddresses.street_suffixes))
    streets: dict[str, None] = {}
    while len(streets) < STREET_COUNT:
        streets[f"{rng.choice(names)} {rng.choice(suffixes)}"] = None
    return tuple(streets)


@cache
def gazetteer() -> Gazetteer:
    """The same fictional geography in every world (the seed decides who lives where)."""
    fake = Faker("en_US")
    fake.seed_instance(1789)
    places: list[Place] = []
    seen: set[tuple[str, str]] = set()
    while len(places) < PLACE_COUNT:
        state = fake.state_abbr(include_territories=False)
        city = fake.city()
        if (city, state) in seen:
            continue
        seen.add((city, state))
        places.append(Place(city, state, fake.zipcode_in_state(state)))
    streets = _street_names(random.Random(1789))
    zipf = [1.0 / (rank + 1) ** 0.9 for rank in range(PLACE_COUNT)]
    cumulative = {}
    for g, group in enumerate(GROUPS):
        hubs = {(g * 7 + h * 3) % 60 for h in range(HUBS_PER_GROUP)}
        # The hubs share HUB_SHARE of the group's weight; the rest follows the Zipf ranks.
        others = sum(w for i, w in enumerate(zipf) if i not in hubs)
        hub_weight = others * HUB_SHARE / (1 - HUB_SHARE) / HUBS_PER_GROUP
        weights = [hub_weight if i in hubs else w for i, w in enumerate(zipf)]
        cumulative[group] = tuple(accumulate(weights))
    return Gazetteer(tuple(places), streets, cumulative)
