"""The reliability diagram of address confidence: stated probability against how often right."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt

from caseline.profiles.address_evaluation import AddressEvaluation


def write_reliability_diagram(evaluation: AddressEvaluation, path: Path) -> Path:
    """One line per naming group and a bold one for everyone; the diagonal is perfect."""
    figure, (diagram, counts) = plt.subplots(
        2, 1, figsize=(6.5, 7.5), height_ratios=(3, 1), sharex=True
    )
    diagram.plot(
        [0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated"
    )
    for name, points in sorted(evaluation.reliability.items()):
        if not points:
            continue
        stated, observed, _n = zip(*points, strict=True)
        overall = name == "all"
        diagram.plot(
            stated,
            observed,
            marker="o" if overall else ".",
            linewidth=2.5 if overall else 1,
            alpha=1 if overall else 0.6,
            color="black" if overall else None,
            label=f"all (ECE {evaluation.overall.methods['caseline'].ece:.3f})"
            if overall
            else f"{name} (ECE {evaluation.by_group[name].methods['caseline'].ece:.3f})",
        )
    diagram.set_ylabel("share that is the current address")
    diagram.set_title(f"Address confidence at {evaluation.as_of.isoformat()}: reliability")
    diagram.set_xlim(0, 1)
    diagram.set_ylim(0, 1)
    diagram.legend(fontsize=7, loc="upper left")
    diagram.grid(alpha=0.3)
    points = evaluation.reliability.get("all", [])
    if points:
        stated, _observed, n = zip(*points, strict=True)
        counts.bar(stated, n, width=0.08, color="0.4")
        counts.set_yscale("log")
    counts.set_xlabel("stated probability that the address is current")
    counts.set_ylabel("addresses")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
