"""The impact plot: for each rule, each group's share of the persons the rule selects beside
its share of the population, with the policy's bound drawn around the population share."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt

from caseline.cases.priority_impact import ImpactReport


def write_impact_plot(report: ImpactReport, path: Path, dimension: str = "naming_group") -> Path:
    """One panel per rule that selects anyone: bars of the selected share per group, a tick
    at the population share with the bound around it, a dot at the share of the persons with
    a lead; a bar beyond the bound is red."""
    rules = [r for r in report.rules if r.persons and dimension in r.by]
    if not rules:
        rules = [r for r in report.rules if dimension in r.by][:1]
    if not rules:
        raise ValueError(f"the report measured no rule by {dimension}")
    height = 2.0 + 1.6 * len(rules)
    figure, axes = plt.subplots(len(rules), 1, figsize=(8, height), squeeze=False)
    beyond = {(f.rule_id, f.value) for f in report.findings if f.dimension == dimension}
    for axis, rule in zip(axes[:, 0], rules, strict=True):
        shares = rule.by[dimension]
        names = [s.value for s in shares]
        xs = range(len(shares))
        colours = ["#b2182b" if (rule.rule_id, s.value) in beyond else "#4393c3" for s in shares]
        axis.bar(xs, [s.selected_share for s in shares], color=colours, label="selected")
        axis.errorbar(
            xs,
            [s.population_share for s in shares],
            yerr=report.bound,
            fmt="_",
            color="black",
            markersize=14,
            capsize=4,
            label=f"population ± {report.bound:.0%}",
        )
        axis.plot(
            xs, [s.lead_share for s in shares], "o", color="0.35", markersize=4,
            label="persons with a lead",
        )  # fmt: skip
        unmeasured = " (too few to measure)" if rule.persons < report.min_selected_persons else ""
        axis.set_title(f"{rule.rule_id}: {rule.persons} persons, {rule.leads} leads{unmeasured}",
                       fontsize=9, loc="left")  # fmt: skip
        axis.set_xticks(list(xs), names, rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, 1)
        axis.set_ylabel("share", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    figure.suptitle(
        f"Policy {report.policy}: who each rule selects by {dimension.replace('_', ' ')} "
        f"({report.where}, {report.as_of})",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
