"""Same inputs and parameters, same numbers: a second run reproduces every headline figure."""

from __future__ import annotations

import json

import nbformat
import pytest

from salesnb import report


@pytest.mark.slow
def test_a_second_run_gives_identical_headlines(demo_warehouse, demo_report, tmp_path):
    studies = [
        "targets",
        "market",
        "customers",
        "performance",
    ]  # the ones with fits and simulations
    code = report.run_report(
        source=str(demo_warehouse), period=demo_report.name, only=studies, out=tmp_path, workers=2
    )
    assert code == 0
    for sid in studies:
        first = json.loads((demo_report / f"{sid}.json").read_text())
        second = json.loads((tmp_path / demo_report.name / f"{sid}.json").read_text())
        assert second == first, sid
    for sid in studies:  # the charts too, byte for byte (no timestamps, no random SVG ids)
        charts = []
        for folder in (demo_report, tmp_path / demo_report.name):
            nb = nbformat.read(str(folder / f"{sid}.ipynb"), as_version=4)
            charts.append(
                [
                    o["data"]["image/svg+xml"]
                    for c in nb.cells
                    for o in c.get("outputs", [])
                    if "image/svg+xml" in o.get("data", {})
                ]
            )
        assert charts[0], f"{sid} shows no chart"
        assert charts[0] == charts[1], f"{sid}: a chart differs between two runs"
    for csv in ("targets-allocation.csv", "customers-at-risk.csv", "performance-payouts.csv"):
        assert (tmp_path / demo_report.name / csv).read_bytes() == (
            demo_report / csv
        ).read_bytes(), csv
