"""Data card of a synthetic world: what it contains, measured from the files it writes.

    .venv/bin/python benchmarks/data_card.py                  # 100,000 persons, seed 1, docs/
    .venv/bin/python benchmarks/data_card.py --persons 20000 --seed 7 --out-dir /tmp/card

Generates a world into a temporary directory (one worker; progress on stderr), measures it
from the written files and the generator's error log, writes ``<out-dir>/data-card.md`` with
its plots in ``<out-dir>/data-card/``, and prints a short summary. Every figure in the card
is computed here from the generated data; the only constants are the generator's own knobs,
imported to be shown next to what was measured.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from itertools import pairwise
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from caseline.synth import ErrorRates, HardCases, WorldSummary, generate_world
from caseline.synth.calendar import HISTORY_START
from caseline.synth.names import GROUP_SHARES, GROUPS
from caseline.synth.population import (
    FOREIGN_BORN,
    HOUSEHOLD_SIZE_WEIGHTS,
    MOVES_PER_YEAR,
)
from caseline.synth.tables import SOURCE_COLUMNS
from caseline.synth.world import CHUNK_PERSONS
from data_card_hard_cases import hard_cases

matplotlib.use("Agg")
SOURCES = list(SOURCE_COLUMNS)
YEAR = 365.25
START = pd.Timestamp(HISTORY_START)
AGE_BANDS = (0, 5, 18, 25, 45, 65, 85, 200)
# The column of each source that carries an identifier (the card measures how often it is filled).
IDENTIFIERS = {
    "date of birth": {"motor_vehicle": "dob", "tax": "date_of_birth", "court": "date_of_birth",
                      "entry_exit": "date_of_birth", "immigration_status": "date_of_birth"},
    "SSN / ITIN": {"tax": "tin"},
    "A-number": {"immigration_status": "a_number", "court": "a_number"},
    "passport": {"entry_exit": "passport_number"},
    "licence": {"motor_vehicle": "licence_number"},
    "middle name": {"motor_vehicle": "middle_name", "immigration_status": "middle_name"},
}  # fmt: skip
NUMBER = re.compile(r"[-+]?[\d,.]+%?|—")  # right-aligned in tables
Frames = dict[str, pd.DataFrame]


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def cell(value: object) -> str:
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.2f}"
    return str(value)


class Card:
    """The card's Markdown, the plots it links to, and the figures for the printed summary."""

    def __init__(self, out_dir: Path) -> None:
        self.lines: list[str] = []
        self.summary: dict[str, str] = {}
        self.plots = out_dir / "data-card"
        self.plots.mkdir(parents=True, exist_ok=True)

    def add(self, *paragraphs: str) -> None:
        for paragraph in paragraphs:
            self.lines += [paragraph, ""]

    def table(self, rows: pd.DataFrame | list[list[object]], columns: str = "") -> None:
        """A Markdown table of a frame, or of rows with ``columns`` given as 'a|b|c'."""
        df = pd.DataFrame(rows, columns=columns.split("|")) if columns else pd.DataFrame(rows)
        body = ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
        numeric = [all(NUMBER.fullmatch(cell(v)) for v in df[c]) for c in df.columns]
        align = "|" + "|".join("--:" if n else ":--" for n in numeric) + "|"
        self.lines += ["| " + " | ".join(map(str, df.columns)) + " |", align, *body, ""]

    def plot(self, fig: plt.Figure, name: str, alt: str) -> None:
        fig.tight_layout()
        fig.savefig(self.plots / f"{name}.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        self.add(f"![{alt}](data-card/{name}.png)")


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "src/caseline/synth")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (" (modified)" if dirty else "")


def load(world: WorldSummary) -> Frames:
    names = [*SOURCES, "truth", "persons", "residences", "statuses"]
    frames = {n: pd.read_csv(world.file(n), dtype=str, keep_default_na=False) for n in names}
    p = frames["persons"]
    born = pd.to_datetime(p.date_of_birth)
    p["age"] = (pd.Timestamp(world.reference_date) - born).dt.days / YEAR
    parts = p.current_address.str.rsplit(", ", n=2, expand=True)  # line, city, "ST 12345"
    p["city"] = np.where(p.current_address == "", "", parts[1] + ", " + parts[2].str[:2])
    return frames


def intro(card: Card, world: WorldSummary, args: argparse.Namespace, seconds: float) -> None:
    rates = ", ".join(f"`{k}`={v:g}" for k, v in asdict(ErrorRates()).items())
    planted = ", ".join(f"`{k}`={v:g}" for k, v in asdict(HardCases()).items())
    command = f".venv/bin/python benchmarks/data_card.py --persons {args.persons}"
    card.add(
        "# Data card: the synthetic world",
        f"A synthetic population of {world.persons:,} persons in households, with their homes, "
        f"marriages, jobs and immigration status from {HISTORY_START.year} to the reference date, "
        "and the records six sources made of them, each with its own habits and errors. The "
        "truth files say which person each record belongs to and which errors it carries. Every "
        "figure below is measured by `benchmarks/data_card.py` from the generated files and the "
        "generator's error log; the configured values beside them are the generator's own knobs.",
        f"Regenerate this card (plots go to `{args.out_dir}/data-card/`):",
        f"    {command} --seed {args.seed} --out-dir {args.out_dir}",
    )
    card.table([
        ["generator commit", f"`{commit()}`"], ["persons", world.persons], ["seed", args.seed],
        ["reference date", world.reference_date.isoformat()],
        ["file format, chunk size", f"{world.file_format}, {CHUNK_PERSONS:,} persons"],
        ["records", sum(world.records_by_source.values())],
        ["generation time (this run, one worker)", f"{seconds:.0f} s"],
        ["error rates", f"defaults: {rates}"],
        ["hard cases planted", f"defaults: {planted}"],
    ], "parameter|value")  # fmt: skip


def population(card: Card, d: Frames) -> None:
    p = d["persons"]
    homes = p.drop_duplicates("household_id")
    configured = np.array(GROUP_SHARES) / sum(GROUP_SHARES)
    card.add("## Population", "### Naming groups")
    rows = [
        [g, int((p.group == g).sum()), pct((p.group == g).mean()), pct((homes.group == g).mean()),
         pct(c)] for g, c in zip(GROUPS, configured, strict=True)
    ]  # fmt: skip
    card.table(rows, "group|persons|share of persons|share of households|configured (households)")
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(GROUPS, [(homes.group == g).mean() for g in GROUPS], label="measured")
    ax.scatter(GROUPS, configured, color="black", marker="_", s=600, zorder=3, label="configured")
    ax.set(title="Naming-group mix (households)", xlabel="naming group", ylabel="share")
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    card.plot(fig, "group_mix", "Naming-group mix")
    sizes = p.groupby("household_id").size().value_counts().sort_index()
    weights = np.array(HOUSEHOLD_SIZE_WEIGHTS) / sum(HOUSEHOLD_SIZE_WEIGHTS)
    card.add(
        "### Households", f"{len(homes):,} households, {len(p) / len(homes):.2f} persons each."
    )
    rows = [[s, n, pct(n / sizes.sum()), pct(weights[s - 1])] for s, n in sizes.items()]
    card.table(rows, "size|households|share|configured")
    bands = pd.cut(p.age, AGE_BANDS, right=False).value_counts(normalize=True, sort=False)
    labels = [f"{a}-{b - 1}" if b < 200 else f"{a}+" for a, b in pairwise(AGE_BANDS)]
    card.add("### Ages at the reference date")
    card.table([["share of persons", *map(pct, bands.values)]], "|".join(["age", *labels]))
    adults = p[p.age >= 18]
    card.summary["born abroad"] = pct((p.us_born == "false").mean())
    card.add(
        "### Born abroad",
        f"{pct((p.us_born == 'false').mean())} of all persons and "
        f"{pct((adults.us_born == 'false').mean())} of adults were born abroad.",
    )
    rows = [
        [g, pct((p[p.group == g].us_born == "false").mean()),
         pct((adults[adults.group == g].us_born == "false").mean()), pct(FOREIGN_BORN[g])]
        for g in GROUPS
    ]  # fmt: skip
    card.table(rows, "group|all persons|adults|configured (each adult drawn)")


def records(card: Card, d: Frames) -> None:
    truth, p = d["truth"], d["persons"]
    counts = pd.crosstab(truth.entity_id, truth.source).reindex(columns=SOURCES, fill_value=0)
    counts = counts.reindex(p.entity_id, fill_value=0)  # persons with no records count as 0
    columns = {"all sources": counts.sum(axis=1), **{s: counts[s] for s in SOURCES}}
    shares = {
        name: n.clip(upper=10).value_counts(normalize=True).reindex(range(11), fill_value=0)
        for name, n in columns.items()
    }
    card.add("## Records", "### Records per person", "Share of all persons with 0 … 10+ records.")
    rows = [
        [name, int(n.sum()), float(n.mean()), f"{n.median():g}", *[pct(v, 0) for v in shares[name]]]
        for name, n in columns.items()
    ]
    card.table(rows, "|".join(["source", "records", "mean", "median", *map(str, range(10)), "10+"]))
    card.summary["records per person"] = f"{columns['all sources'].mean():.2f} (mean)"
    fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharey=True)
    for ax, (name, share) in zip(axes.flat, shares.items(), strict=False):
        ax.bar(range(11), share.values, color="tab:gray" if name == "all sources" else None)
        ax.set(title=name, xticks=range(0, 11, 2), xticklabels=["0", "2", "4", "6", "8", "10+"])
    axes.flat[-1].axis("off")
    fig.supxlabel("records per person")
    fig.supylabel("share of persons")
    fig.suptitle("Records per person, by source")
    card.plot(fig, "records_per_person", "Records per person by source")
    by_group = counts.groupby(p.set_index("entity_id").group).mean().reindex(GROUPS)
    card.add("### Records per person, by source and naming group")
    card.table(by_group.round(2).rename_axis("group").reset_index())
    fig, ax = plt.subplots(figsize=(10, 4.5))
    norm = LogNorm(vmin=0.01, vmax=max(0.1, by_group.values.max()))  # sources differ tenfold
    image = ax.imshow(by_group.clip(lower=0.01).values, cmap="Blues", aspect="auto", norm=norm)
    for (i, j), v in np.ndenumerate(by_group.values):
        dark = norm(max(v, 0.01)) > 0.6
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white" if dark else "black")
    ax.set(xticks=range(len(SOURCES)), xticklabels=SOURCES, yticks=range(len(GROUPS)))
    ax.set(yticklabels=GROUPS, xlabel="source", ylabel="naming group")
    ax.set_title("Mean records per person, by source and naming group")
    fig.colorbar(image, ax=ax, label="records per person (log scale)")
    card.plot(fig, "records_by_group", "Records per person by source and group")


def moves(card: Card, d: Frames, reference: pd.Timestamp) -> None:
    res = d["residences"]
    moved_in = pd.to_datetime(res.moved_in)
    moved_out = pd.to_datetime(res.moved_out.replace("", None)).fillna(reference)
    spans = pd.DataFrame({"id": res.entity_id, "start": moved_in, "end": moved_out})
    per = spans.groupby("id").agg(n=("start", "size"), start=("start", "min"), end=("end", "max"))
    per["moves"], per["years"] = per.n - 1, (per.end - per.start).dt.days / YEAR
    per["renter"] = d["persons"].set_index("entity_id").renter.reindex(per.index) == "true"
    # Moves since the window opened: homes moved into from then on, less a first home.
    per["window_moves"] = (moved_in >= START).groupby(res.entity_id).sum() - (per.start >= START)
    per["window_years"] = (per.end - per.start.clip(lower=START)).dt.days.clip(lower=0) / YEAR
    card.add(
        "## Homes and moves",
        "Moves are residences - 1 over each person's history; the yearly rate divides them by "
        f"the years that history covers (all of it, and from {HISTORY_START.year}). A grown child "
        "leaving home counts as a move.",
    )
    rows = [
        ["renters" if renter else "owners", len(g), float(g.moves.mean()),
         pct((g.moves == 0).mean()), f"{g.moves.sum() / g.years.sum():.3f}",
         f"{g.window_moves.sum() / g.window_years.sum():.3f}", f"{MOVES_PER_YEAR[renter]:.3f}"]
        for renter, g in per.groupby("renter")
    ]  # fmt: skip
    card.table(rows, f"household|persons|moves each|no move|per year|per year ({START.year}+)|"
                     "configured")  # fmt: skip
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, (renter, g) in enumerate(per.groupby("renter")):
        share = g.moves.clip(upper=8).value_counts(normalize=True).reindex(range(9), fill_value=0)
        label = "renters" if renter else "owners"
        ax.bar(np.arange(9) + (k - 0.5) * 0.4, share.values, width=0.4, label=label)
    ax.set(xticks=range(9), xticklabels=[*map(str, range(8)), "8+"], xlabel="moves per person")
    ax.set(ylabel="share of persons", title="Moves per person, renters and owners")
    ax.legend()
    card.plot(fig, "moves", "Moves per person by renter or owner")


def names(card: Card, d: Frames) -> None:
    p = d["persons"]
    changed, twins = p[p.name_changed_on != ""], p[p.twin_of != ""].set_index("entity_id").twin_of
    by_group = ", ".join(f"{g} {n}" for g, n in changed.group.value_counts().items())
    card.add("## Names", "### Hard cases inside households")
    rows = [
        ["surname changed at marriage in the window", len(changed),
         f"{pct(len(changed) / (p.sex == 'F').sum(), 2)} of women: {by_group}"],
        ["twins", len(twins), f"{int((twins.map(twins) != twins.index).sum())} whose twin "
         "names someone else as their twin"],
        ["Jr. (son named after his father)", int((p.suffix == "JR").sum()), ""],
        ["Sr.", int((p.suffix == "SR").sum()), ""],
    ]  # fmt: skip
    card.table(rows, "case|persons|note")
    rows = []
    for g in GROUPS:
        family = p[p.group == g].family_name.value_counts(normalize=True)
        top = [f"{name} {pct(share)}" for name, share in family.head(3).items()]
        rows.append([g, len(family), *top, pct(family.head(3).sum())])
    card.add("### Most common family names", "Legal family name at the reference date.")
    card.table(rows, "group|distinct|1st|2nd|3rd|top 3")
    here = p[p.city != ""]
    key = [here.given_name, here.family_name, here.city]
    same = here.groupby(key).entity_id.transform("size") >= 2
    apart = here.groupby(key).household_id.transform("nunique") >= 2
    cities = here.city.value_counts(normalize=True)
    card.summary["same name nearby"] = f"{int(apart.sum()):,} persons ({pct(apart.mean())})"
    card.summary["largest city"] = f"{cities.index[0]}, {pct(cities.iloc[0])} of residents"
    card.add(
        "### Places and the same common name nearby",
        f"{len(cities):,} cities have residents at the reference date; the largest, "
        f"{cities.index[0]}, holds {pct(cities.iloc[0])} of them. Of {len(here):,} residents, "
        f"{int(same.sum()):,} ({pct(same.mean())}) share their exact given and family name with "
        f"someone else in the same city; {int(apart.sum()):,} ({pct(apart.mean())}) with "
        "someone in another household (the rest are Jr./Sr. pairs at home).",
    )
    rows = [
        [g, int((here.group == g).sum()), pct(apart[here.group == g].mean()),
         pct(here[here.group == g].city.value_counts(normalize=True).iloc[0])]
        for g in GROUPS
    ]  # fmt: skip
    card.table(rows, "group|residents|same name, other household|in the group's largest city")
    clusters = here[apart].groupby(key).agg(n=("entity_id", "size"), h=("household_id", "nunique"))
    top = clusters.sort_values("n", ascending=False).head(5).reset_index()
    card.add("Largest clusters of one name in one city:")
    card.table(top.set_axis(["given", "family", "city", "persons", "households"], axis=1))


def error_shares(truth: pd.DataFrame) -> pd.DataFrame:
    """Share of each source's records that carry each error kind (at least once)."""
    kinds = truth.errors.str.split(";").explode()
    kinds = kinds[kinds != ""]
    carried = pd.DataFrame(
        {"record": kinds.index, "source": truth.source[kinds.index].values, "kind": kinds.values}
    ).drop_duplicates()
    shares = pd.crosstab(carried.kind, carried.source).div(truth.source.value_counts(), axis=1)
    shares.loc["any error"] = (truth.errors != "").groupby(truth.source).mean()
    return shares.reindex(columns=SOURCES).fillna(0.0)


def identifiers(card: Card, d: Frames, shares: pd.DataFrame) -> None:
    rows = []
    for source in SOURCES:
        filled = [pct((d[source][c[source]] != "").mean()) if source in c else "—"
                  for c in IDENTIFIERS.values()]  # fmt: skip
        blanked = shares.at["missing_date_of_birth", source]
        dob = pct(blanked) if source in IDENTIFIERS["date of birth"] else "—"
        rows.append([source, len(d[source]), *filled, dob])
    card.add(
        "## Identifiers",
        "Share of each source's records with the field filled in (— : the source has no such "
        "field), and the share whose date of birth the truth says was blanked.",
    )
    card.table(rows, "|".join(["source", "records", *IDENTIFIERS, "DOB blanked (truth)"]))


def errors(card: Card, world: WorldSummary, shares: pd.DataFrame) -> None:
    log = world.errors
    df = pd.DataFrame({"kind": list(log.eligible)})
    eligible, garbled = df.kind.map(log.eligible), df.kind.map(log.applied)
    expected = df.kind.map(log.expected)
    df["measured"] = garbled / eligible.clip(lower=1)
    df["expected"] = expected / eligible.clip(lower=1)
    df["base"] = df.kind.map(asdict(ErrorRates()))
    df["z"] = (garbled - expected) / np.sqrt(expected * (1 - df.expected)).clip(lower=1e-9)
    card.summary["largest |z| of an error rate"] = f"{df.z.abs().max():.2f} ({len(df)} kinds)"
    card.add(
        "## Errors",
        "Per error kind: values eligible for it, values garbled, the measured rate, the base "
        "knob, the expected rate (the knob after each source's scaling, weighted by eligible "
        "values), and z = (garbled - expected count) / sqrt(expected count x (1 - expected rate)).",
    )
    two = lambda x: pct(x, 2)  # noqa: E731
    rows = zip(df.kind, eligible, garbled, df.measured.map(two), df.base.map(two),
               df.expected.map(two), df.z.map("{:+.2f}".format), strict=True)  # fmt: skip
    card.table([list(r) for r in rows], "kind|eligible|garbled|measured|base knob|expected|z")
    fig, ax = plt.subplots(figsize=(9, 6))
    y = np.arange(len(df))
    ax.barh(y, df.measured, color="tab:blue", alpha=0.45, label="measured")
    ax.scatter(df.expected, y, color="black", marker="|", s=500, lw=2, zorder=3, label="expected")
    ax.scatter(df.base, y, color="tab:red", marker="x", s=60, zorder=3, label="base knob")
    ax.set(yticks=y, yticklabels=df.kind, xscale="log", xlim=(2e-3, 3))
    ax.set_xlabel("share of eligible values (log scale)")
    ax.set_title("Error rates per kind: measured vs configured")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    card.plot(fig, "error_rates", "Error rates per kind")
    card.add("### Errors per source", "Share of each source's records carrying each kind.")
    card.table(shares.map(two).rename_axis("kind").reset_index())


def statuses(card: Card, d: Frames) -> None:
    p, truth = d["persons"], d["truth"]
    counts = p.status.value_counts()
    abroad = p[p.us_born == "false"].status.value_counts(normalize=True)
    card.add("## Immigration status at the reference date")
    rows = [[s, n, pct(n / len(p)), pct(abroad.get(s, 0.0))] for s, n in counts.items()]
    card.table(rows, "status|persons|share|share of born abroad")
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.barh(counts.index[::-1], counts.values[::-1], color="tab:green")
    for i, v in enumerate(counts.values[::-1]):
        ax.text(v, i, f" {v:,}", va="center", fontsize=8)
    ax.set(xscale="log", xlim=(counts.min() / 2, counts.max() * 4), xlabel="persons (log scale)")
    ax.set_title("Immigration status at the reference date")
    card.plot(fig, "statuses", "Status at the reference date")
    by_group = pd.crosstab(p.status, p.group, normalize="columns").reindex(columns=GROUPS)
    card.add("By naming group (share of the group):")
    card.table(by_group.loc[counts.index].map(pct).rename_axis("status").reset_index())
    person_of = truth.set_index("source_key").entity_id
    exits = d["entry_exit"].query("event_type == 'EXIT'")
    exits = exits.assign(entity_id=exits.event_id.map(person_of))
    s = d["statuses"]
    vd = p[p.entity_id.isin(s[s.status == "voluntary_departure_pending"].entity_id)]
    left, overdue = vd[vd.departed_on != ""], vd[vd.status == "voluntary_departure_overdue"]
    on_day = left.merge(
        exits, left_on=["entity_id", "departed_on"], right_on=["entity_id", "event_date"]
    )
    minors = (
        pd.to_datetime(left.departed_on) - pd.to_datetime(left.date_of_birth)
    ).dt.days < 18 * YEAR
    stayed = p[p.departed_on == ""].household_id
    granted = d["court"].query("outcome == 'VOLUNTARY_DEPARTURE_GRANTED'").hearing_id.map(person_of)
    card.add("### Voluntary departures")
    rows = [
        ["granted (persons)", len(vd)],
        ["… with the grant in the court file", granted.nunique()],
        ["pending at the reference date", int((vd.status == "voluntary_departure_pending").sum())],
        ["departed", len(left)],
        ["… with an exit record on the day of departure", on_day.entity_id.nunique()],
        ["… while others in their household stayed", int(left.household_id.isin(stayed).sum())],
        ["… under 18 at departure", int(minors.sum())],
        ["overdue (not departed by the deadline)", len(overdue)],
        ["… with any exit record", int(overdue.entity_id.isin(exits.entity_id).sum())],
        ["departed share of those due", pct(len(left) / max(1, len(left) + len(overdue)))],
    ]
    card.table(rows, "voluntary departure|persons")
    card.summary["voluntary departures"] = f"{len(left):,} departed, {len(overdue):,} overdue"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", default="docs", help="where data-card.md and its plots go")
    args = parser.parse_args()
    started = time.perf_counter()
    card = Card(Path(args.out_dir))

    def progress(done: int) -> None:
        print(f"\rgenerated {done:,}/{args.persons:,} persons", end="", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="caseline-card-") as tmp:
        world = generate_world(args.persons, args.seed, Path(tmp), workers=1, progress=progress)
        generated = time.perf_counter() - started
        print("\nmeasuring…", file=sys.stderr)
        d = load(world)
        shares = error_shares(d["truth"])
        intro(card, world, args, generated)
        population(card, d)
        records(card, d)
        moves(card, d, pd.Timestamp(world.reference_date))
        names(card, d)
        identifiers(card, d, shares)
        errors(card, world, shares)
        statuses(card, d)
        hard_cases(card, world, d)
    path = Path(args.out_dir) / "data-card.md"
    path.write_text("\n".join(card.lines).rstrip() + "\n", encoding="utf-8")
    by_source = ", ".join(f"{k} {v:,}" for k, v in world.records_by_source.items())
    print(f"{world.persons:,} persons, {sum(world.records_by_source.values()):,} records")
    print(f"by source: {by_source}")
    for name, value in card.summary.items():
        print(f"{name}: {value}")
    print(f"generated in {generated:.0f} s, all done in {time.perf_counter() - started:.0f} s")
    print(f"card: {path}")


if __name__ == "__main__":
    main()
