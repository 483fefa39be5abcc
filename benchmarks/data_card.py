"""Data card of a synthetic world: what it contains, measured from the files it writes.

    .venv/bin/python benchmarks/data_card.py                  # 100,000 persons, seed 1, docs/
    .venv/bin/python benchmarks/data_card.py --persons 20000 --seed 7 --out-dir /tmp/card

Generates a world into a temporary directory (one worker; progress on stderr), measures it
from the written files and the generator's error log, writes ``<out-dir>/data-card.md`` with
its plots in ``<out-dir>/data-card/``, and prints a short summary. Every figure in the card
is computed here from the generated data; the only constants are the generator's own knobs,
imported to show next to what was measured.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from caseline.synth import ErrorRates, WorldSummary, generate_world
from caseline.synth.calendar import HISTORY_START
from caseline.synth.names import GROUP_SHARES, GROUPS
from caseline.synth.population import FOREIGN_BORN, HOUSEHOLD_SIZE_WEIGHTS, MOVES_PER_YEAR
from caseline.synth.tables import SOURCE_COLUMNS, SOURCE_KEYS
from caseline.synth.world import CHUNK_PERSONS

matplotlib.use("Agg")
SOURCES = tuple(SOURCE_COLUMNS)
YEAR = 365.25
# Which column of each source carries an identifier (the card measures how often it is filled).
IDENTIFIERS = {
    "date of birth": {"motor_vehicle": "dob", "tax": "date_of_birth", "court": "date_of_birth",
                      "entry_exit": "date_of_birth", "immigration_status": "date_of_birth"},
    "SSN / ITIN": {"tax": "tin"},
    "A-number": {"immigration_status": "a_number", "court": "a_number"},
    "passport": {"entry_exit": "passport_number"},
    "licence": {"motor_vehicle": "licence_number"},
    "middle name": {"motor_vehicle": "middle_name", "immigration_status": "middle_name"},
}  # fmt: skip
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
    """The card's Markdown lines and the plots they link to."""

    def __init__(self, out_dir: Path) -> None:
        self.lines: list[str] = []
        self.summary: dict[str, str] = {}
        self.plots = out_dir / "data-card"
        self.plots.mkdir(parents=True, exist_ok=True)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, df: pd.DataFrame) -> None:
        rows = ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
        align = "|" + "|".join([":--", *["--:"] * (len(df.columns) - 1)]) + "|"
        self.add("| " + " | ".join(map(str, df.columns)) + " |", align, *rows, "")

    def plot(self, fig: plt.Figure, name: str, alt: str) -> None:
        fig.tight_layout()
        fig.savefig(self.plots / f"{name}.png", dpi=110, metadata={"Software": None})
        plt.close(fig)
        self.add(f"![{alt}](data-card/{name}.png)", "")


def commit() -> str:
    run = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    dirty = run("status", "--porcelain", "--", "src/caseline/synth")
    return (run("rev-parse", "--short", "HEAD") or "unknown") + (" (modified)" if dirty else "")


def load(world: WorldSummary) -> Frames:
    names = [*SOURCES, "truth", "persons", "residences", "statuses"]
    frames = {n: pd.read_csv(world.file(n), dtype=str, keep_default_na=False) for n in names}
    p = frames["persons"]
    p["age"] = (pd.Timestamp(world.reference_date) - pd.to_datetime(p.date_of_birth)).dt.days / YEAR
    parts = p.current_address.str.rsplit(", ", n=2, expand=True)
    p["city"] = np.where(p.current_address == "", "", parts[1] + ", " + parts[2].str[:2])
    return frames


def intro(card: Card, world: WorldSummary, args: argparse.Namespace) -> None:
    rates = ", ".join(f"`{k}`={v:g}" for k, v in asdict(ErrorRates()).items())
    card.add(
        "# Data card: the synthetic world", "",
        f"A synthetic population of {world.persons:,} persons in households, with their homes, "
        f"marriages, jobs and immigration status from {HISTORY_START.year} to the reference "
        "date, and the records six sources made of them, each with its own habits and errors. "
        "The truth files say which person each record belongs to and which errors it carries. "
        "Every figure below is measured by `benchmarks/data_card.py` from the generated files "
        "and the generator's error log; the configured values shown beside them are the "
        "generator's own knobs.", "",
        "Regenerate this card (about a minute on one core):", "",
        f"    .venv/bin/python benchmarks/data_card.py --persons {args.persons} "
        f"--seed {args.seed} --out-dir {args.out_dir}", "",
    )  # fmt: skip
    card.table(pd.DataFrame([
        ("generator commit", f"`{commit()}`"), ("persons", world.persons), ("seed", args.seed),
        ("reference date", world.reference_date.isoformat()), ("format", world.file_format),
        ("chunk persons", CHUNK_PERSONS), ("records", sum(world.records_by_source.values())),
        ("error rates", f"defaults: {rates}"),
    ], columns=["parameter", "value"]))  # fmt: skip


def population(card: Card, d: Frames) -> None:
    p = d["persons"]
    households = p.drop_duplicates("household_id")
    mix = pd.DataFrame({
        "group": GROUPS, "persons": [int((p.group == g).sum()) for g in GROUPS],
        "share of persons": [pct((p.group == g).mean()) for g in GROUPS],
        "share of households": [pct((households.group == g).mean()) for g in GROUPS],
        "configured (households)": [pct(s / sum(GROUP_SHARES)) for s in GROUP_SHARES],
    })  # fmt: skip
    card.add("## Population", "", "### Naming groups", "")
    card.table(mix)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(GROUPS, [(households.group == g).mean() for g in GROUPS], label="measured")
    ax.scatter(GROUPS, np.array(GROUP_SHARES) / sum(GROUP_SHARES), color="black", marker="_",
               s=600, zorder=3, label="configured")  # fmt: skip
    ax.set(title="Naming-group mix (households)", xlabel="naming group", ylabel="share")
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    card.plot(fig, "group_mix", "Naming-group mix")
    sizes = p.groupby("household_id").size().value_counts().sort_index()
    weights = dict(enumerate(HOUSEHOLD_SIZE_WEIGHTS, start=1))
    card.add("### Household sizes", "",
             f"{len(households):,} households, {len(p) / len(households):.2f} persons each.", "")
    card.table(pd.DataFrame({
        "size": sizes.index, "households": sizes.values,
        "share": [pct(v / sizes.sum()) for v in sizes.values],
        "configured": [pct(weights.get(s, 0.0) / sum(HOUSEHOLD_SIZE_WEIGHTS)) for s in sizes.index],
    }))  # fmt: skip
    adults = p[p.age >= 18]
    card.add("### Born abroad", "",
             f"{pct((p.us_born == 'false').mean())} of all persons and "
             f"{pct((adults.us_born == 'false').mean())} of adults were born abroad.", "")
    card.table(pd.DataFrame({
        "group": GROUPS,
        "all persons": [pct((p[p.group == g].us_born == "false").mean()) for g in GROUPS],
        "adults": [pct((adults[adults.group == g].us_born == "false").mean()) for g in GROUPS],
        "configured (adults drawn)": [pct(FOREIGN_BORN[g]) for g in GROUPS],
    }))  # fmt: skip


def per_person(d: Frames) -> pd.DataFrame:
    """Records per person and source, including persons with no records at all."""
    truth = d["truth"]
    counts = pd.crosstab(truth.entity_id, truth.source).reindex(columns=list(SOURCES))
    return counts.reindex(d["persons"].entity_id, fill_value=0).fillna(0).astype(int)


def records(card: Card, d: Frames) -> None:
    counts = per_person(d)
    columns = {"all sources": counts.sum(axis=1), **{s: counts[s] for s in SOURCES}}
    bins = list(range(10))
    rows = []
    for name, n in columns.items():
        share = n.clip(upper=10).value_counts(normalize=True).reindex(range(11), fill_value=0)
        rows.append([name, int(n.sum()), float(n.mean()), f"{n.median():g}",
                     *[pct(v, 0) for v in share.values]])  # fmt: skip
    card.add("## Records", "", "### Records per person", "",
             "Persons with 0 … 10+ records (share of all persons), overall and per source.", "")
    card.table(pd.DataFrame(rows, columns=["source", "records", "mean", "median",
                                           *map(str, bins), "10+"]))  # fmt: skip
    fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharey=True)
    for ax, (name, n) in zip(axes.flat, columns.items(), strict=False):
        share = n.clip(upper=10).value_counts(normalize=True).reindex(range(11), fill_value=0)
        ax.bar(range(11), share.values, color="tab:gray" if name == "all sources" else None)
        ax.set(title=name, xticks=[0, 2, 4, 6, 8, 10], xticklabels=["0", "2", "4", "6", "8", "10+"])
    axes.flat[-1].axis("off")
    fig.supxlabel("records per person")
    fig.supylabel("share of persons")
    fig.suptitle("Records per person, by source")
    card.plot(fig, "records_per_person", "Records per person by source")
    group = d["persons"].set_index("entity_id").group.reindex(counts.index)
    by_group = counts.groupby(group).mean().reindex(GROUPS)
    card.add("### Records per person, by source and naming group", "")
    card.table(by_group.round(2).reset_index().rename(columns={"index": "group"}))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    image = ax.imshow(by_group.values, cmap="Blues", aspect="auto")
    for (i, j), v in np.ndenumerate(by_group.values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center",
                color="white" if v > by_group.values.max() / 2 else "black")  # fmt: skip
    ax.set(xticks=range(len(SOURCES)), xticklabels=SOURCES, yticks=range(len(GROUPS)),
           yticklabels=GROUPS, title="Mean records per person, by source and naming group",
           xlabel="source", ylabel="naming group")  # fmt: skip
    fig.colorbar(image, ax=ax, label="records per person")
    card.plot(fig, "records_by_group", "Records per person by source and group")


def moves(card: Card, d: Frames, reference: pd.Timestamp) -> None:
    res, p = d["residences"], d["persons"].set_index("entity_id")
    moved_in = pd.to_datetime(res.moved_in)
    moved_out = pd.to_datetime(res.moved_out.replace("", None)).fillna(reference)
    span = pd.DataFrame({"entity_id": res.entity_id, "start": moved_in, "end": moved_out})
    per = span.groupby("entity_id").agg(n=("start", "size"), start=("start", "min"),
                                        end=("end", "max"))  # fmt: skip
    per["moves"], per["years"] = per.n - 1, (per.end - per.start).dt.days / YEAR
    per["renter"] = p.renter.reindex(per.index) == "true"
    per["window_moves"] = (
        (moved_in >= pd.Timestamp(HISTORY_START)).groupby(res.entity_id).sum()
        - (per.start >= pd.Timestamp(HISTORY_START))
    )  # moves into a new home in the window (not the first home)
    per["window_years"] = (per.end - per.start.clip(lower=pd.Timestamp(HISTORY_START))).dt.days
    per["window_years"] = per.window_years.clip(lower=0) / YEAR
    rows = []
    for renter, g in per.groupby("renter"):
        rows.append(["renter" if renter else "owner", len(g), float(g.moves.mean()),
                     pct((g.moves == 0).mean()), f"{g.moves.sum() / g.years.sum():.3f}",
                     f"{g.window_moves.sum() / g.window_years.sum():.3f}",
                     f"{MOVES_PER_YEAR[bool(renter)]:.3f}"])  # fmt: skip
    card.add("## Homes and moves", "",
             "Moves are residences − 1 over each person's whole history; the annual rate divides "
             f"them by the years covered (all history, and {HISTORY_START.year} on). A grown "
             "child leaving home counts as a move.", "")  # fmt: skip
    card.table(pd.DataFrame(rows, columns=["household", "persons", "moves per person",
                                           "no move", "moves/year (all)",
                                           f"moves/year ({HISTORY_START.year}+)", "configured"]))
    fig, ax = plt.subplots(figsize=(8, 4))
    for k, (renter, g) in enumerate(per.groupby("renter")):
        share = g.moves.clip(upper=8).value_counts(normalize=True).reindex(range(9), fill_value=0)
        ax.bar(np.arange(9) + (k - 0.5) * 0.4, share.values, width=0.4,
               label="renters" if renter else "owners")  # fmt: skip
    ax.set(xticks=range(9), xticklabels=[*map(str, range(8)), "8+"], xlabel="moves per person",
           ylabel="share of persons", title="Moves per person, renters and owners")
    ax.legend()
    card.plot(fig, "moves", "Moves per person by renter or owner")


def names(card: Card, d: Frames) -> None:
    p = d["persons"]
    changed, twins = p[p.name_changed_on != ""], p[p.twin_of != ""].set_index("entity_id").twin_of
    by_group = changed.group.value_counts()
    card.add("## Names", "", "### Hard cases inside households", "")
    card.table(pd.DataFrame([
        ("women whose surname changed at marriage in the window", len(changed),
         pct(len(changed) / (p.sex == "F").sum(), 2) + " of women; "
         + ", ".join(f"{g} {n}" for g, n in by_group.items())),
        ("twins (persons)", len(twins),
         f"{int((twins.map(twins) != twins.index).sum())} whose twin names someone else"),
        ("Jr. (son named after his father)", int((p.suffix == "JR").sum()), ""),
        ("Sr.", int((p.suffix == "SR").sum()), ""),
    ], columns=["case", "persons", "note"]))  # fmt: skip
    rows = []
    for g in GROUPS:
        family = p[p.group == g].family_name.value_counts(normalize=True)
        top = [f"{name} {pct(share)}" for name, share in family.head(3).items()]
        rows.append([g, len(family), *top, pct(family.head(3).sum())])
    card.add("### Most common family names", "", "Legal family name at the reference date.", "")
    card.table(pd.DataFrame(rows, columns=["group", "distinct", "1st", "2nd", "3rd", "top 3"]))
    here = p[p.city != ""]
    key = [here.given_name, here.family_name, here.city]
    same = here.groupby(key).entity_id.transform("size") >= 2
    apart = here.groupby(key).household_id.transform("nunique") >= 2
    card.summary["same name nearby"] = f"{int(apart.sum()):,} ({pct(apart.mean())})"
    card.add("### Same common name nearby", "",
             f"Of {len(here):,} persons living in the country at the reference date, "
             f"{int(same.sum()):,} ({pct(same.mean())}) share their exact given and family name "
             f"with someone else in the same city; {int(apart.sum()):,} ({pct(apart.mean())}) "
             "with someone in another household (Jr./Sr. pairs are the rest).", "")  # fmt: skip
    card.table(pd.DataFrame({
        "group": GROUPS, "persons": [int((here.group == g).sum()) for g in GROUPS],
        "same name, other household": [pct(apart[here.group == g].mean()) for g in GROUPS],
    }))  # fmt: skip
    clusters = here[apart].groupby(key).agg(persons=("entity_id", "size"),
                                            households=("household_id", "nunique"))  # fmt: skip
    top = clusters.sort_values("persons", ascending=False).head(5).reset_index()
    card.add("Largest clusters:", "")
    card.table(top.rename(columns={"given_name": "given", "family_name": "family"}))


def error_shares(truth: pd.DataFrame) -> pd.DataFrame:
    """Share of each source's records that carry each error kind (at least once)."""
    kinds = truth.errors.str.split(";").explode()
    kinds = kinds[kinds != ""]
    carried = pd.DataFrame(
        {"record": kinds.index, "source": truth.source[kinds.index].values, "kind": kinds.values}
    ).drop_duplicates()
    shares = pd.crosstab(carried.kind, carried.source).div(truth.source.value_counts(), axis=1)
    shares.loc["any error"] = (truth.errors != "").groupby(truth.source).mean()
    return shares.reindex(columns=list(SOURCES)).fillna(0.0)


def identifiers(card: Card, d: Frames, shares: pd.DataFrame) -> None:
    rows = []
    for source in SOURCES:
        filled = [pct((d[source][c[source]] != "").mean()) if source in c else "—"
                  for c in IDENTIFIERS.values()]  # fmt: skip
        missing = shares.at["missing_date_of_birth", source] if source in IDENTIFIERS["date of birth"] else None
        rows.append([source, len(d[source]), *filled, "—" if missing is None else pct(missing)])
    card.add("## Identifiers", "",
             "Share of each source's records with the identifier filled in (— : the source "
             "has no such field), and the share whose date of birth the truth says was blanked.", "")
    card.table(pd.DataFrame(rows, columns=["source", "records", *IDENTIFIERS, "DOB blanked (truth)"]))


def errors(card: Card, world: WorldSummary, shares: pd.DataFrame) -> None:
    log, base = world.errors, asdict(ErrorRates())
    df = pd.DataFrame({"kind": list(log.eligible)})
    df["eligible"] = df.kind.map(log.eligible)
    df["garbled"] = df.kind.map(log.applied)
    df["measured"] = df.garbled / df.eligible.clip(lower=1)
    df["expected"] = df.kind.map(log.expected) / df.eligible.clip(lower=1)
    df["base"] = df.kind.map(base)
    spread = np.sqrt(df.kind.map(log.expected) * (1 - df.expected)).clip(lower=1e-9)
    df["z"] = (df.garbled - df.kind.map(log.expected)) / spread
    card.summary["largest |z| of an error rate"] = f"{df.z.abs().max():.2f}"
    card.add("## Errors", "",
             "Per error kind: values eligible for it, values garbled, the measured rate, the "
             "configured rate (the base knob, and the eligible-weighted rate after each source's "
             "scaling), and z = (garbled − expected) / √(expected·(1 − rate)).", "")  # fmt: skip
    card.table(pd.DataFrame({
        "kind": df.kind, "eligible": df.eligible, "garbled": df.garbled,
        "measured": df.measured.map(lambda x: pct(x, 2)), "base knob": df.base.map(lambda x: pct(x, 2)),
        "expected": df.expected.map(lambda x: pct(x, 2)), "z": df.z.map(lambda x: f"{x:+.2f}"),
    }))  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 6))
    y = np.arange(len(df))
    ax.barh(y, df.measured, color="tab:blue", label="measured")
    ax.scatter(df.expected, y, color="black", marker="|", s=300, zorder=3, label="expected")
    ax.scatter(df.base, y, color="tab:red", marker="x", zorder=3, label="base knob")
    ax.set(yticks=y, yticklabels=df.kind, xscale="log", xlabel="share of eligible values (log)",
           title="Error rates per kind: measured vs configured")  # fmt: skip
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    card.plot(fig, "error_rates", "Error rates per kind")
    card.add("### Errors per source", "", "Share of each source's records carrying each kind.", "")
    card.table(shares.map(lambda x: pct(x, 2)).rename_axis("kind").reset_index())


def statuses(card: Card, d: Frames) -> None:
    p, s, truth = d["persons"], d["statuses"], d["truth"]
    counts = p.status.value_counts()
    abroad = p[p.us_born == "false"].status.value_counts(normalize=True)
    card.add("## Immigration status at the reference date", "")
    card.table(pd.DataFrame({
        "status": counts.index, "persons": counts.values,
        "share": [pct(v / len(p)) for v in counts.values],
        "share of born abroad": [pct(abroad.get(k, 0.0)) for k in counts.index],
    }))  # fmt: skip
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.barh(counts.index[::-1], counts.values[::-1], color="tab:green")
    for i, v in enumerate(counts.values[::-1]):
        ax.text(v, i, f" {v:,}", va="center", fontsize=8)
    ax.set(xscale="log", xlabel="persons (log)", title="Status at the reference date")
    card.plot(fig, "statuses", "Status at the reference date")
    by_group = pd.crosstab(p.status, p.group, normalize="columns").reindex(columns=list(GROUPS))
    card.add("By naming group (share of the group):", "")
    card.table(by_group.loc[counts.index].map(pct).rename_axis("status").reset_index())
    keys = truth.set_index("source_key").entity_id
    exits = d["entry_exit"].query("event_type == 'EXIT'").assign(entity_id=lambda e: e.event_id.map(keys))
    granted = s[s.status == "voluntary_departure_pending"].entity_id.unique()
    vd = p[p.entity_id.isin(granted)]
    departed, overdue = vd[vd.status.str.endswith("departed")], vd[vd.status.str.endswith("overdue")]
    verified = departed.merge(exits, left_on=["entity_id", "departed_on"],
                              right_on=["entity_id", "event_date"]).entity_id.nunique()  # fmt: skip
    court = d["court"].query("outcome == 'VOLUNTARY_DEPARTURE_GRANTED'")
    card.add("### Voluntary departures", "")
    card.table(pd.DataFrame([
        ("granted (persons)", len(vd)), ("with the grant in the court file", court.hearing_id.map(keys).nunique()),
        ("pending at the reference date", int((vd.status == "voluntary_departure_pending").sum())),
        ("departed", len(departed)), ("departed, exit recorded that day", verified),
        ("overdue (no departure by the deadline)", len(overdue)),
        ("overdue with an exit record", int(exits.entity_id.isin(overdue.entity_id).sum())),
        ("departed share of those due", pct(len(departed) / max(1, len(departed) + len(overdue)))),
    ], columns=["voluntary departure", "value"]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", default="docs", help="where data-card.md and its plots go")
    args = parser.parse_args()
    started = time.perf_counter()
    card = Card(Path(args.out_dir))
    with tempfile.TemporaryDirectory(prefix="caseline-card-") as tmp:
        world = generate_world(
            args.persons, args.seed, Path(tmp), workers=1,
            progress=lambda n: print(f"\rgenerated {n:,}/{args.persons:,} persons", end="",
                                     file=sys.stderr, flush=True),
        )  # fmt: skip
        generated = time.perf_counter() - started
        print("\nmeasuring…", file=sys.stderr)
        d = load(world)
        shares = error_shares(d["truth"])
        intro(card, world, args)
        population(card, d)
        records(card, d)
        moves(card, d, pd.Timestamp(world.reference_date))
        names(card, d)
        identifiers(card, d, shares)
        errors(card, world, shares)
        statuses(card, d)
    path = Path(args.out_dir) / "data-card.md"
    path.write_text("\n".join(card.lines).rstrip() + "\n", encoding="utf-8")
    print(f"{world.persons:,} persons, {sum(world.records_by_source.values()):,} records "
          f"({', '.join(f'{k} {v:,}' for k, v in world.records_by_source.items())})")
    for name, value in card.summary.items():
        print(f"{name}: {value}")
    print(f"generated in {generated:.0f} s, card in {time.perf_counter() - started:.0f} s: {path}")


if __name__ == "__main__":
    main()
