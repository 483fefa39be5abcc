"""Records in, persons out: train (or load) the model, score candidate pairs, cluster.

Pure over a frame of records; it neither reads nor writes the service database, so the
pipeline, the incremental path, the tests and the benchmarks all run the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from splink import Linker

from caseline.resolve.assurance import (
    REVIEWER_LINK_WEIGHT,
    AssuranceEvidence,
    gather_assurance_evidence,
    load_assurance_model,
)
from caseline.resolve.clustering import (
    UNDATED_VETO_EVIDENCE,
    VETO_WEIGHT,
    VETOES_OUTVOTED_AT,
    cluster_components,
    cluster_pairs,
)
from caseline.resolve.conflicts import different_people
from caseline.resolve.crosscheck import CHECK_VETO_BELOW_PRIOR, candidates_to_check, score_within
from caseline.resolve.engine import DEFAULT_ENGINE, Engine, PairsToScore
from caseline.resolve.features import add_features
from caseline.resolve.frequencies import frequency_scales, frequency_table
from caseline.resolve.model import ResolutionModel, match_weight
from caseline.resolve.records import present_columns
from caseline.resolve.review_pairs import uncertain_pairs
from caseline.resolve.training import SEED, train

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

TRAINING_SAMPLE = 200_000  # records; m and u are proportions, so a sample estimates them
StepCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Decisions:
    """Reviewers' decisions between pairs of records: they win over any score."""

    together: tuple[tuple[str, str], ...] = ()
    apart: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Linkage:
    records: pd.DataFrame  # the records with their derived columns, as compared
    clusters: list[list[str]]
    model: ResolutionModel
    scored_pairs: int
    links: int
    vetoes: int
    steps: dict[str, float] = field(default_factory=dict)
    # Per person (keyed by its first record id): the evidence for its identity assurance.
    assurance: dict[str, AssuranceEvidence] = field(default_factory=dict)
    # The pairs reviewers should look at (see review_pairs), by record id, in queue order.
    review_pairs: pd.DataFrame = field(default_factory=pd.DataFrame)


def link_records(
    frame: pd.DataFrame,
    *,
    threshold: float,
    engine: Engine = DEFAULT_ENGINE,
    model: ResolutionModel | None = None,
    decisions: Decisions = Decisions(),
    on_step: StepCallback | None = None,
) -> Linkage:
    """Group the records of ``frame`` (the model's stored columns) into persons."""
    step = on_step or (lambda _name: None)
    records = add_features(frame)
    # The engine sees records numbered 0..n-1: integer keys join, shuffle and come back to
    # Python far faster than 32-character record ids.
    record_ids = pd.Index(records["unique_id"])
    numbered = records.assign(unique_id=np.arange(len(records), dtype=np.int64))
    given = model is not None
    if model is None:
        step("training the model")
        model = train_model(numbered, engine)
    step("scoring candidate pairs")
    counts = {c: numbered[c].value_counts() for c in model.frequency_columns}
    scales = frequency_scales(model.settings, counts)
    model = model.with_frequency_scales(scales)
    # A model given from outside has its SQL checked; one trained here was checked then.
    linker = engine.create_linker(
        numbered,
        model.settings,
        validate=given,
        frequencies={c: frequency_table(c, counted, scales[c]) for c, counted in counts.items()},
    )
    predictions = linker.inference.predict()
    dated = pd.Series(numbered["date_of_birth"].notna().to_numpy(), index=numbered["unique_id"])
    prior = model.prior
    links, against = decisive_pairs(linker, predictions, threshold, prior, dated)
    scored = int(
        linker.misc.query_sql(
            f"SELECT count(*) AS n FROM {predictions.physical_name}",  # noqa: S608 (Splink's table)
            output_type="pandas",
        )["n"].iloc[0]
    )
    step("clustering")
    must_link = _numbered(record_ids, decisions.together)
    cannot_link = _numbered(record_ids, decisions.apart)
    # On Spark the links' components are found on the cluster, and only the contested
    # ones' pairs come back to be built link by link; elsewhere from the pairs held here.
    found = engine.contested_pairs(
        predictions, dated.to_numpy(bool), link_weight=match_weight(threshold),
        prior_weight=match_weight(prior), must_link=must_link, cannot_link=cannot_link,
    )  # fmt: skip
    if found is None:
        numbered_clusters = cluster_pairs(
            range(len(records)), links, against, must_link, cannot_link,
            outvote=VETOES_OUTVOTED_AT,
        )  # fmt: skip
    else:
        numbered_clusters = cluster_components(
            range(len(records)), found.components, found.links, found.vetoes, must_link,
            cannot_link, outvote=VETOES_OUTVOTED_AT,
        )  # fmt: skip
    # Where reviewers decided, their decisions stand as the first clustering applied them.
    decided = np.unique(pd.concat([must_link, cannot_link]).to_numpy().ravel())
    candidates = [
        c
        for c in candidates_to_check(
            [np.asarray(c, dtype=np.int64) for c in numbered_clusters], links
        )
        if not np.isin(c, decided).any()
    ]
    if candidates:
        step(f"checking {len(candidates):,} candidate persons pair by pair")
        # The links and vetoes hold every scored pair the check can use: its veto (at least
        # CHECK_VETO_BELOW_PRIOR below the prior, and below VETO_WEIGHT) is a veto here too.
        known, unscored = score_within(
            candidates, pd.concat([links, against]), linker, predictions, engine
        )
        # Namesakes whose facts conflict score only weakly against (see conflicts): such a
        # pair vetoes on any evidence against. (Evidence for, as a shared name and address
        # give, makes it one person's records with two errors: Febrl's duplicates.)
        conflicting = different_people(
            numbered, unscored["left"].to_numpy(), unscored["right"].to_numpy()
        ) & (unscored["weight"].to_numpy() < match_weight(prior))
        unscored, conflicts = unscored[~conflicting], unscored[conflicting]
        within = pd.concat([known, unscored], ignore_index=True)
        numbered_clusters = _checked(
            numbered_clusters, candidates, within, conflicts, prior, match_weight(threshold)
        )
        # The links the check scored hold its persons together too: assurance reads them.
        links = pd.concat(
            [links, unscored[unscored["weight"] >= match_weight(threshold)]], ignore_index=True
        )
    ids = record_ids.to_numpy(dtype=object)
    members = [np.asarray(cluster, dtype=np.int64) for cluster in numbered_clusters]
    evidence = gather_assurance_evidence(
        records, members, pd.concat([links, must_link.assign(weight=REVIEWER_LINK_WEIGHT)])
    )
    assurance_model = load_assurance_model()
    assessed = [assurance_model.assess(e) for e in evidence]
    assurance = {
        min(ids[cluster].tolist()): a for cluster, a in zip(members, assessed, strict=True)
    }
    review = uncertain_pairs(
        linker, predictions, threshold=threshold, record_ids=ids, members=members,
        assurance=assessed, links=links,
    )  # fmt: skip
    clusters = sorted(sorted(ids[cluster].tolist()) for cluster in members)
    return Linkage(
        records, clusters, model, scored, len(links), len(against), assurance=assurance,
        review_pairs=review,
    )  # fmt: skip


def _checked(
    clusters: list[list[Any]],
    candidates: list[np.ndarray],
    within: pd.DataFrame,
    conflicts: pd.DataFrame,
    prior: float,
    link_weight: float,
) -> list[list[Any]]:
    """The clusters with each candidate clustered again with the pairs ``within`` it that
    decide anything (see crosscheck), and the pairs in ``conflicts`` as vetoes."""
    veto = match_weight(prior) - CHECK_VETO_BELOW_PRIOR
    members = np.concatenate(candidates)
    none = pd.DataFrame({"left": [], "right": []}, dtype=np.int64)
    vetoes = pd.concat(
        [within[within["weight"] <= min(veto, VETO_WEIGHT)], conflicts], ignore_index=True
    )
    reclustered = cluster_pairs(
        members.tolist(),
        within[within["weight"] >= link_weight].reset_index(drop=True),
        vetoes[["left", "right"]],
        none,
        none,
    )
    checked = set(members.tolist())
    return [c for c in clusters if c[0] not in checked] + reclustered


def train_model(records: pd.DataFrame, engine: Engine) -> ResolutionModel:
    """Train on a reproducible sample of the records (all of them when there are few)."""
    present = present_columns(records)
    sample = (
        records.sample(n=TRAINING_SAMPLE, random_state=SEED)
        if len(records) > TRAINING_SAMPLE
        else records
    )
    validated = False  # Splink checks a model's SQL once: the check is slow

    def make_linker(settings: dict[str, Any], rows: pd.DataFrame, pairs: PairsToScore) -> Linker:
        nonlocal validated
        linker = engine.create_linker(rows, settings, pairs=pairs, validate=not validated)
        validated = True
        return linker

    return train(make_linker, sample, present)


def decisive_pairs(
    linker: Linker,
    predictions: SplinkDataFrame,
    threshold: float,
    prior: float,
    dated: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs strong enough to link, and pairs strong enough against linking: the vetoes
    (each left, right, weight). ``dated`` says, by record id, which records have a
    date of birth: a pair without two of them vetoes only where its evidence is against
    (`UNDATED_VETO_EVIDENCE`), since its low score is mostly the prior (model's ``prior``)."""
    link_weight = match_weight(threshold)
    # Only Splink's own table name and two floats are interpolated.
    sql = (
        "SELECT unique_id_l AS left, unique_id_r AS right, match_weight AS weight "  # noqa: S608
        f"FROM {predictions.physical_name} "
        f"WHERE match_weight >= {link_weight!r} OR match_weight <= {VETO_WEIGHT!r}"
    )
    pairs = linker.misc.query_sql(sql, output_type="pandas")
    strong = pairs["weight"] >= link_weight
    low = pairs[~strong]

    def have_dates(ids: pd.Series) -> np.ndarray:
        found: np.ndarray = dated.reindex(ids, fill_value=False).to_numpy(bool)
        return found

    both_dated = have_dates(low["left"]) & have_dates(low["right"])
    against = low["weight"].to_numpy() - match_weight(prior) <= UNDATED_VETO_EVIDENCE
    vetoes = low[both_dated | against]
    return pairs[strong].reset_index(drop=True), vetoes.reset_index(drop=True)


def _numbered(record_ids: pd.Index, pairs: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    """Pairs of record ids -> pairs of their positions (pairs naming unknown records dropped)."""
    frame = pd.DataFrame(list(pairs), columns=["left", "right"])
    left, right = record_ids.get_indexer(frame["left"]), record_ids.get_indexer(frame["right"])
    known = (left >= 0) & (right >= 0)
    return pd.DataFrame({"left": left[known], "right": right[known]})
