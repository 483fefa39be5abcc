"""Naming conventions: name pools per group, drawn from Faker's locales and transliterated.

A group is a *naming convention*, not a nationality: it decides how a name is built (one or
two surnames, family-name-first, gendered surname forms) and which variants sources produce.
Pools come from Faker's locales, sampled with Faker's own weights so that common names are
common; non-Latin scripts are romanised with ``anyascii``.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from anyascii import anyascii
from faker import Faker

GROUPS = (
    "anglo",
    "hispanic",
    "east_asian",
    "vietnamese",
    "arabic",
    "south_asian",
    "slavic",
    "haitian_french",
)
# Share of each naming convention in the population (a plausible caseload mix, not a census).
GROUP_SHARES = (0.30, 0.27, 0.08, 0.06, 0.08, 0.08, 0.06, 0.07)

_POOL_DRAWS = 2500


@dataclass(frozen=True, slots=True)
class Pool:
    """Names with cumulative weights, for fast weighted draws."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    @classmethod
    def from_counts(cls, counts: Counter[str]) -> Pool:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls(tuple(n for n, _ in ordered), tuple(accumulate(float(c) for _, c in ordered)))

    @classmethod
    def weighted(cls, names: Sequence[str], weights: Sequence[float]) -> Pool:
        return cls(tuple(names), tuple(accumulate(weights)))


@dataclass(frozen=True, slots=True)
class NamePools:
    given_male: Pool
    given_female: Pool
    family: Pool
    middle: Pool | None = None  # a separate middle-name pool (Vietnamese); else given names


def _sample(method: Callable[[], str], draws: int = _POOL_DRAWS) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(draws):
        name = method().strip()
        if name:
            counts[name] += 1
    return counts


def _romanised(counts: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for name, count in counts.items():
        roman = anyascii(name).replace("'", "").replace("`", "").strip()
        if roman:
            out[roman[:1].upper() + roman[1:]] += count
    return out


def _faker(locale: str) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(20260101)  # pools are fixed; the world's seed decides who gets which name
    return fake


def _locale_pools(locales: Sequence[str], *, romanise: bool = False) -> NamePools:
    male: Counter[str] = Counter()
    female: Counter[str] = Counter()
    family: Counter[str] = Counter()
    for locale in locales:
        fake = _faker(locale)
        male += _sample(fake.first_name_male)
        female += _sample(fake.first_name_female)
        family += _sample(
            fake.last_name_male if hasattr(fake, "last_name_male") else fake.last_name
        )
    if romanise:
        male, female, family = _romanised(male), _romanised(female), _romanised(family)
    return NamePools(Pool.from_counts(male), Pool.from_counts(female), Pool.from_counts(family))


def _east_asian_pools() -> NamePools:
    zh, ja, ko = _faker("zh_CN"), _faker("ja_JP"), _faker("ko_KR")
    male = _sample(zh.first_romanized_name) + _sample(ja.first_romanized_name_male)
    female = _sample(zh.first_romanized_name) + _sample(ja.first_romanized_name_female)
    male += _hyphenated(_romanised(_sample(ko.first_name_male)))
    female += _hyphenated(_romanised(_sample(ko.first_name_female)))
    family = _sample(zh.last_romanized_name) + _sample(ja.last_romanized_name)
    family += _korean_family(_romanised(_sample(ko.last_name)))
    return NamePools(Pool.from_counts(male), Pool.from_counts(female), Pool.from_counts(family))


# anyascii romanises Korean surnames letter by letter (이 -> "I"); these are the spellings
# people actually use, so the common-surname effect (Kim, Lee, Park) is kept.
_KOREAN_FAMILY = {
    "I": "Lee",
    "Bag": "Park",
    "Gim": "Kim",
    "Jeong": "Jung",
    "Choe": "Choi",
    "O": "Oh",
}


def _korean_family(counts: Counter[str]) -> Counter[str]:
    return Counter({_KOREAN_FAMILY.get(n, n): c for n, c in counts.items()})


def _hyphenated(counts: Counter[str]) -> Counter[str]:
    """'SeongHun' (anyascii's syllable capitals) -> 'Seong-hun', the usual passport form."""
    return Counter(
        {
            re.sub(r"(?<=[a-z])([A-Z])", lambda m: "-" + m[1].lower(), n): c
            for n, c in counts.items()
        }
    )


# Vietnamese family names are few and very skewed: about four in ten people are Nguyen.
# Faker's vi_VN has ten of them, drawn evenly; the weights (percent of the population) follow
# published frequency estimates, and the common names Faker lacks are added with theirs.
_VIETNAMESE_FAMILY_WEIGHTS = {
    "Nguyễn": 38.4, "Trần": 12.1, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 5.1, "Huỳnh": 5.1,
    "Phan": 4.5, "Vũ": 3.9, "Võ": 3.9, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3,
    "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Mai": 0.6, "Trương": 0.5, "Đinh": 0.4, "Lâm": 0.4,
    "Lương": 0.3, "Cao": 0.3, "Tạ": 0.2, "Châu": 0.2, "Tô": 0.2, "Thái": 0.2, "Quách": 0.1,
}  # fmt: skip


def _vietnamese_pools() -> NamePools:
    fake = _faker("vi_VN")
    names = list(_VIETNAMESE_FAMILY_WEIGHTS)
    return NamePools(
        Pool.from_counts(_sample(fake.first_name_male)),
        Pool.from_counts(_sample(fake.first_name_female)),
        Pool.weighted(names, [_VIETNAMESE_FAMILY_WEIGHTS[n] for n in names]),
        middle=Pool.from_counts(_sample(fake.middle_name)),
    )


@cache
def pools(group: str) -> NamePools:
    """The name pools of a naming group (built once per process)."""
    builders: dict[str, Callable[[], NamePools]] = {
        "anglo": lambda: _locale_pools(["en_US"]),
        "hispanic": lambda: _locale_pools(["es_MX", "es_CO"]),
        "east_asian": _east_asian_pools,
        "vietnamese": _vietnamese_pools,
        "arabic": lambda: _locale_pools(["fr_DZ"]),
        "south_asian": lambda: _locale_pools(["en_IN", "en_PK"]),
        "slavic": lambda: _locale_pools(["ru_RU", "uk_UA"], romanise=True),
        "haitian_french": lambda: _locale_pools(["fr_FR", "fr_CA"]),
    }
    return builders[group]()


# Slavic surnames agree with the bearer's sex: Ivanov / Ivanova, Kowalski / Kowalska.
_FEMININE_ENDINGS = (
    (re.compile(r"(sk|ck|zk)(iy|yy|y|i)$"), r"\1aya"),
    (re.compile(r"(ov|ev|yov|in|yn)$"), r"\1a"),
)


def feminine_surname(family: str) -> str:
    for pattern, replacement in _FEMININE_ENDINGS:
        if pattern.search(family):
            return pattern.sub(replacement, family)
    return family


@cache
def masculine_surname(family: str) -> str:
    """The masculine form of a Slavic surname (what a form without gender agreement records)."""
    if family.endswith("aya"):
        return family[:-3] + "iy"
    if re.search(r"(ov|ev|in|yn)a$", family):
        return family[:-1]
    return family


# Spelling variants that romanisation produces for the same name, per naming convention.
# Each is a (pattern, replacement) tried in random order; one that changes the name is used.
TRANSLITERATION_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "arabic": (
        ("ou", "u"),
        ("ou", "oo"),
        ("u", "ou"),
        ("o", "u"),
        ("e", "a"),
        ("a", "e"),
        ("mm", "m"),
        ("m", "mm"),
        ("dj", "j"),
        ("ch", "sh"),
        ("kh", "h"),
        ("q", "k"),
        ("i", "ee"),
        ("y", "i"),
        ("ai", "ay"),
    ),
    "slavic": (
        ("iy$", "y"),
        ("iy$", "i"),
        ("kh", "h"),
        ("ya", "ia"),
        ("yu", "iu"),
        ("zh", "j"),
        ("ts", "tz"),
        ("y$", "i"),
        ("sh", "ch"),
        ("e", "ye"),
        ("v$", "ff"),
    ),
    "east_asian": (
        ("-", ""),
        ("-", " "),
        ("eo", "u"),
        ("u", "oo"),
        ("Lee", "Yi"),
        ("Lee", "Rhee"),
        ("Park", "Pak"),
        ("Choi", "Choe"),
        ("Zh", "Ch"),
        ("X", "Hs"),
        ("Q", "Ch"),
        ("ong", "ung"),
        ("Kim", "Gim"),
    ),
    "vietnamese": (("uy", "ui"), ("Đ", "D"), ("Ph", "F"), ("y$", "i"), ("Vu", "Vo")),
    "south_asian": (("ee", "i"), ("oo", "u"), ("sh", "s"), ("v", "w"), ("th", "t"), ("a$", "")),
    "haitian_french": (("ph", "f"), ("-", " "), ("-", ""), ("y", "i"), ("é", "e")),
    "hispanic": (("ll", "y"), ("v", "b"), ("z", "s"), ("j", "h")),
    "anglo": (("ph", "f"), ("y$", "ie"), ("ie$", "y"), ("c", "k")),
}


def transliteration_variant(rng: random.Random, group: str, name: str) -> str:
    """Another romanisation of ``name`` (Mohamed -> Mohammed), or the name itself if none fits."""
    rules = list(TRANSLITERATION_RULES.get(group, ()))
    rng.shuffle(rules)
    for pattern, replacement in rules:
        varied = re.sub(pattern, replacement, name, count=1)
        if varied != name:
            return varied
    return name
