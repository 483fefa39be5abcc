"""`caseline policy`: the priority policy that orders leads and cases, its versions, the
impact of a proposal measured before it takes effect, and the two-person publication."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caseline.cases import (
    ImpactReport,
    PolicyVersion,
    PriorityPolicy,
    WorldTruth,
    list_policy_versions,
    load_policy_file,
    measure_policy_impact,
    policy_in_force,
    propose_policy,
    publish_policy,
    read_policy_version,
    read_world_truth,
    write_impact_plot,
)
from caseline.cli.app import app, console, date_option, fail, workspace

policy_app = typer.Typer(
    help="The priority policy: show it, measure a proposal's impact, propose, publish.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")

TruthRecords = Annotated[
    Path | None,
    typer.Option(help="A generated world's truth.csv: measure by naming group and sex too."),
]
TruthPersons = Annotated[
    Path | None, typer.Option(help="The same world's persons.csv (entity_id, group, sex).")
]
AS_OF_HELP = "The day the rules in force and the leads are taken (today)."
SHOWN_VALUES = 10  # groups or places a table shows; the JSON holds every one


@policy_app.command("show")
def policy_show(
    version: Annotated[int | None, typer.Option(help="This version (the one in force).")] = None,
    as_of: Annotated[dt.date | None, date_option(AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """The policy in force (or a version): each rule with its legal basis, the facts it
    reads, its weight or tier and its dates; then every version and its state."""
    day = as_of or dt.date.today()
    with workspace() as ws, ws.database.transaction() as session:
        actor = ws.actor(session)
        versions = list_policy_versions(session, actor=actor)
        if version is not None:
            shown = read_policy_version(session, version, actor=actor)
            policy, label = shown.policy, f"version {version} ({shown.state})"
        else:
            force = policy_in_force(session, day)
            policy, label = force.policy, f"in force on {day}: {force.label}"
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "shown": label,
                    "policy": policy.as_dict(),
                    "versions": [_version_row(v) for v in versions],
                },
                indent=2,
            )
        )
        return
    _print_policy(policy, label)
    table = Table("version", "name", "state", "proposed by", "published by", "effective from")
    for v in versions:
        table.add_row(str(v.version), v.policy.name, v.state, v.proposed_by,
                      v.published_by or "", v.policy.effective_from.isoformat())  # fmt: skip
    console.print(table if versions else "no version proposed yet: the shipped default orders")


@policy_app.command("impact")
def policy_impact(
    file: Annotated[Path, typer.Argument(help="The policy YAML to measure.")],
    truth_records: TruthRecords = None,
    truth_persons: TruthPersons = None,
    as_of: Annotated[dt.date | None, date_option(AS_OF_HELP)] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the plot (PNG) of each rule's shares here.")
    ] = None,
) -> None:
    """How many persons and leads each rule selects, by naming group and sex (with a
    generated world's truth) and by place, against their share of the population; a
    difference beyond the policy's bound needs a written justification, or the version
    cannot be published (exit 1). Audited; the last line is JSON."""
    policy = load_policy_file(file)
    report = _measure(policy, truth_records, truth_persons, as_of)
    _print_impact(report)
    if plot is not None:
        written = write_impact_plot(report, plot, _plot_dimension(report))
        console.print(f"plot written to {written}")
    typer.echo(json.dumps(report.as_dict(), sort_keys=True))
    if report.unjustified:
        raise typer.Exit(1)


@policy_app.command("propose")
def policy_propose(
    file: Annotated[Path, typer.Argument(help="The policy YAML to propose.")],
    truth_records: TruthRecords = None,
    truth_persons: TruthPersons = None,
    as_of: Annotated[dt.date | None, date_option(AS_OF_HELP)] = None,
) -> None:
    """Measure the policy's impact and store it as the next version, proposed (supervisors
    and admins; audited). Refused if a rule differs beyond the bound unjustified."""
    policy = load_policy_file(file)
    day = as_of or dt.date.today()
    truth = _truth(truth_records, truth_persons)
    where = _where(truth_records)
    with workspace() as ws, ws.database.transaction() as session:
        actor = ws.actor(session)
        report = measure_policy_impact(session, policy, as_of=day, actor=actor, truth=truth,
                                       where=where)  # fmt: skip
        proposed = propose_policy(session, policy.text, where=str(file), impact=report,
                                  actor=actor)  # fmt: skip
    console.print(
        f"version {proposed.version} proposed ({policy.name}); another supervisor or admin "
        f"publishes it: caseline policy publish {proposed.version}"
    )
    typer.echo(json.dumps(_version_row(proposed)))


@policy_app.command("publish")
def policy_publish(
    version: Annotated[int, typer.Argument(help="The proposed version to publish.")],
) -> None:
    """Publish another's proposed version (supervisors and admins, never the proposer;
    audited). It orders leads and cases from its effective date."""
    with workspace() as ws, ws.database.transaction() as session:
        published = publish_policy(session, version, actor=ws.actor(session))
    console.print(
        f"version {version} published; it orders leads and cases from "
        f"{published.policy.effective_from}"
    )
    typer.echo(json.dumps(_version_row(published)))


def _measure(
    policy: PriorityPolicy,
    truth_records: Path | None,
    truth_persons: Path | None,
    as_of: dt.date | None,
) -> ImpactReport:
    truth = _truth(truth_records, truth_persons)
    with workspace() as ws, ws.database.transaction() as session:
        return measure_policy_impact(
            session, policy, as_of=as_of or dt.date.today(), actor=ws.actor(session),
            truth=truth, where=_where(truth_records),
        )  # fmt: skip


def _truth(records: Path | None, persons: Path | None) -> WorldTruth | None:
    if (records is None) != (persons is None):
        fail("give both --truth-records and --truth-persons, or neither")
    if records is None or persons is None:
        return None
    return read_world_truth(records, persons)


def _where(records: Path | None) -> str:
    return "the workspace" if records is None else f"the workspace, world {records.parent}"


def _plot_dimension(report: ImpactReport) -> str:
    return "naming_group" if "naming_group" in report.population else "place"


def _version_row(v: PolicyVersion) -> dict[str, object]:
    return {"version": v.version, "name": v.policy.name, "state": v.state,
            "proposed_by": v.proposed_by, "published_by": v.published_by,
            "sha256": v.policy.sha256,
            "effective_from": v.policy.effective_from.isoformat()}  # fmt: skip


def _print_policy(policy: PriorityPolicy, label: str) -> None:
    console.print(f"[bold]{policy.title}[/bold] ({policy.name}, {label})")
    console.print(policy.summary)
    table = Table("rule", "reads", "weight", "tier", "in force", "legal basis")
    for r in policy.rules:
        until = r.effective_until.isoformat() if r.effective_until else "on"
        table.add_row(r.rule_id, ", ".join(c.describe() for c in r.when), str(r.weight),
                      str(r.tier), f"{r.effective_from} to {until}", r.legal_basis)  # fmt: skip
    console.print(table)


def _print_impact(report: ImpactReport) -> None:
    console.print(
        f"policy {report.policy} on {report.where}, {report.as_of}: {report.persons:,} persons, "
        f"{report.leads:,} leads (bound {report.bound:.0%} for groups of at least "
        f"{report.min_group_persons}, rules selecting at least {report.min_selected_persons})"
    )
    for dimension, population in report.population.items():
        values = sorted(population, key=lambda v: -population[v])[:SHOWN_VALUES]
        table = Table(f"by {dimension}", "persons", *values)
        total = sum(population.values())
        table.add_row("population", f"{total:,}", *(f"{population[v] / total:.1%}" for v in values))
        for rule in report.rules:
            shares = {s.value: s for s in rule.by[dimension]}
            if rule is report.rules[0]:
                table.add_row("with a lead", f"{report.leads:,} leads",
                              *(f"{shares[v].lead_share:.1%}" for v in values))  # fmt: skip
            table.add_row(
                rule.rule_id, f"{rule.persons:,} ({rule.leads:,} leads)",
                *(f"{shares[v].selected_share:.1%}" for v in values),
            )  # fmt: skip
        console.print(table)
        if len(population) > SHOWN_VALUES:
            console.print(f"(the {SHOWN_VALUES} largest of {len(population)}; the JSON has all)")
    for finding in report.findings:
        kind = "justified" if finding.justified else "[red]NOT justified[/red]"
        console.print(f"beyond the bound, {kind}: {finding.describe()}")
    unmeasured = [r.rule_id for r in report.unmeasured()]
    if unmeasured:
        console.print(f"too few selected to measure: {', '.join(unmeasured)}")
