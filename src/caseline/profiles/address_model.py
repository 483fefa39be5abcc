"""The probability that each address is a person's current residence: a conditional logit.

Each of a person's addresses gets a score from its evidence, and the person gets one more
option, "somewhere we have no record of", scored from how old the person's newest evidence
is. A softmax over the options gives probabilities that sum to one with the unknown, so the
addresses sum to at most one. Fitted by maximum likelihood against a generated world's
ground truth; the likelihood rewards calibrated probabilities, not only the right ranking.

The inputs are evidence only: dates, sources, accounts, counts. Naming group, nationality,
citizenship and sex are not inputs, and nothing here can see them.

Beside the fitted model sits one rule that is not fitted: a recorded departure
(:func:`returned_unseen`). A person whose last border crossing is an exit, with no record at
an address since, is at any address only if they came back unseen; the address
probabilities are scaled by that chance and the rest goes to "unknown".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from caseline.shipped import read_versioned_json

MODEL_VERSION = "caseline-address-0.1"
DAYS_PER_YEAR = 365.25
ADDRESS_FEATURES = (
    "years_since_seen",  # log(1 + years since the address was last seen)
    "seen_this_year",  # last seen within a year
    "years_behind_newest",  # log(1 + years between it and the person's newest evidence)
    "is_newest",  # the address the person was last seen at
    "years_superseded",  # log(1 + years another address was first seen after it)
    "open_account",  # an account (utility service) at it is still open
    "all_accounts_closed",  # every account at it has closed
    "sources",  # log of the number of sources that record it
    "records",  # log of the number of records at it
    "years_known",  # log(1 + years between first and last sighting)
    "latest_arrival",  # the address the person was most recently first seen at
    "years_since_arrival",  # log(1 + years since it was first seen)
    "lead",  # known only from records of a thin person with the same name
    "lead_claimants",  # for a lead: log of the identified persons who bear that name
)
UNKNOWN_FEATURES = (
    "bias",
    "years_since_person_seen",  # log(1 + years since any evidence of the person)
    "any_open_account",
    "addresses",  # log of the number of addresses known
)
PENALTY = 1e-3  # L2 on the weights, so a rare feature cannot run off to infinity
# The departure rule's one assumption, not fitted: of the exits that no entry follows on the
# person's records, the share that were trips whose return went unrecorded (a crossing the
# border record missed, or one that resolution put in another person).
MISSED_RETURN = 0.1


@dataclass(frozen=True, slots=True)
class AddressModel:
    address_weights: np.ndarray
    unknown_weights: np.ndarray
    trained_on: dict[str, Any]

    @property
    def version(self) -> str:
        return MODEL_VERSION

    def as_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "address_weights": dict(
                zip(ADDRESS_FEATURES, self.address_weights.tolist(), strict=True)
            ),
            "unknown_weights": dict(
                zip(UNKNOWN_FEATURES, self.unknown_weights.tolist(), strict=True)
            ),
            "trained_on": self.trained_on,
        }


def address_features(evidence: pd.DataFrame) -> np.ndarray:
    years = evidence["age_days"].to_numpy(float) / DAYS_PER_YEAR
    behind = (evidence["person_last_seen"] - evidence["last_seen"]).dt.days.to_numpy(float)
    known = (evidence["last_seen"] - evidence["first_seen"]).dt.days.to_numpy(float)
    open_accounts = evidence["open_accounts"].to_numpy(float) > 0
    closed = evidence["closed_accounts"].to_numpy(float) > 0
    lead = evidence["lead"].to_numpy(float)
    return np.column_stack(
        [
            np.log1p(years),
            (years <= 1.0).astype(float),
            np.log1p(behind / DAYS_PER_YEAR),
            (behind <= 0).astype(float),
            np.log1p(evidence["newer_elsewhere_days"].to_numpy(float) / DAYS_PER_YEAR),
            open_accounts.astype(float),
            (closed & ~open_accounts).astype(float),
            np.log(evidence["source_count"].to_numpy(float)),
            np.log(evidence["records"].to_numpy(float)),
            np.log1p(known / DAYS_PER_YEAR),
            evidence["latest_arrival"].to_numpy(float),
            np.log1p(evidence["arrival_age_days"].to_numpy(float) / DAYS_PER_YEAR),
            lead,
            lead * np.log(np.maximum(evidence["claimants"].to_numpy(float), 1.0)),
        ]
    )


def unknown_features(people: pd.DataFrame) -> np.ndarray:
    """One row per person (the first row of each person's evidence)."""
    return np.column_stack(
        [
            np.ones(len(people)),
            np.log1p(people["person_age_days"].to_numpy(float) / DAYS_PER_YEAR),
            (people["person_open_accounts"].to_numpy(float) > 0).astype(float),
            np.log(people["person_addresses"].to_numpy(float)),
        ]
    )


def current_probabilities(
    evidence: pd.DataFrame, model: AddressModel
) -> tuple[np.ndarray, pd.Series]:
    """Per evidence row the probability that it is the current address, and per person the
    probability of an address Caseline has no record of (index: person id).

    ``evidence`` must be sorted by person, as :func:`gather_evidence` returns it.
    """
    if evidence.empty:
        return np.zeros(0), pd.Series(dtype=float)
    groups, starts = _groups(evidence)
    utilities = address_features(evidence) @ model.address_weights
    unknown = unknown_features(evidence.iloc[starts]) @ model.unknown_weights
    address_p, unknown_p = _softmax(utilities, unknown, groups, len(starts))
    people = evidence["person_id"].iloc[starts].to_numpy()
    return address_p, pd.Series(unknown_p, index=people)


def returned_unseen(years_since_exit: np.ndarray, records_per_year: np.ndarray) -> np.ndarray:
    """The probability that a person who left came back without a trace: a rule, not fitted.

    Two hypotheses explain an exit with no entry and no record at an address since: the
    person left (prior ``1 - MISSED_RETURN``), or came back unrecorded (``MISSED_RETURN``)
    and has not been seen since. A person at home is recorded at the rate their own records
    show before the exit, so going unseen for ``t`` years has probability
    ``exp(-rate * t)`` (Poisson). Bayes' rule gives the chance they are back::

        q * exp(-rate * t) / (q * exp(-rate * t) + 1 - q),   q = MISSED_RETURN
    """
    unseen = np.exp(-np.maximum(records_per_year, 0.0) * np.maximum(years_since_exit, 0.0))
    back = MISSED_RETURN * unseen
    result: np.ndarray = back / (back + 1.0 - MISSED_RETURN)
    return result


def fit_address_model(
    evidence: pd.DataFrame, current: np.ndarray, trained_on: dict[str, Any]
) -> AddressModel:
    """Maximum likelihood weights; ``current`` marks each row that is the true current address
    (a person with no marked row lives somewhere unrecorded)."""
    groups, starts = _groups(evidence)
    x = address_features(evidence)
    z = unknown_features(evidence.iloc[starts])
    chosen = current.astype(float)
    unknown_chosen = 1.0 - np.bincount(groups, weights=chosen, minlength=len(starts)).clip(0, 1)
    split = x.shape[1]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        beta, gamma = weights[:split], weights[split:]
        u, u0 = x @ beta, z @ gamma
        top = np.maximum(np.maximum.reduceat(u, starts), u0)
        total = np.exp(u0 - top) + np.bincount(groups, weights=np.exp(u - top[groups]))
        log_total = top + np.log(total)
        nll = log_total.sum() - (u * chosen).sum() - (u0 * unknown_chosen).sum()
        p = np.exp(u - log_total[groups])
        p0 = np.exp(u0 - log_total)
        grad_beta = x.T @ (p - chosen)
        grad_gamma = z.T @ (p0 - unknown_chosen)
        n = len(starts)
        penalty = PENALTY * n
        return (
            nll / n + penalty * (weights @ weights) / n,
            np.concatenate([grad_beta, grad_gamma]) / n + 2 * penalty * weights / n,
        )

    start = np.zeros(x.shape[1] + z.shape[1])
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return AddressModel(
        result.x[:split], result.x[split:], trained_on | {"log_loss": float(result.fun)}
    )


def save_address_model(model: AddressModel, path: Path) -> None:
    path.write_text(json.dumps(model.as_json(), indent=2, sort_keys=True) + "\n")


def load_address_model(path: Path | None = None) -> AddressModel:
    """The model at ``path``, or the one shipped with Caseline."""
    stored = read_versioned_json(
        path, package="caseline.profiles", name="address_model.json", version=MODEL_VERSION
    )
    return AddressModel(
        np.array([stored["address_weights"][name] for name in ADDRESS_FEATURES]),
        np.array([stored["unknown_weights"][name] for name in UNKNOWN_FEATURES]),
        stored.get("trained_on", {}),
    )


def _groups(evidence: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    codes, _ = pd.factorize(evidence["person_id"], sort=False)
    if len(codes) and np.any(np.diff(codes) < 0):
        raise ValueError("evidence must be sorted by person")
    starts = np.flatnonzero(np.r_[True, np.diff(codes) != 0])
    return codes, starts


def _softmax(
    utilities: np.ndarray, unknown: np.ndarray, groups: np.ndarray, people: int
) -> tuple[np.ndarray, np.ndarray]:
    top = np.maximum(unknown, np.full(people, -np.inf))
    np.maximum.at(top, groups, utilities)
    weights = np.exp(utilities - top[groups])
    unknown_weight = np.exp(unknown - top)
    total = unknown_weight + np.bincount(groups, weights=weights, minlength=people)
    return weights / total[groups], unknown_weight / total
