"""Config files a user writes (ingest mappings, commission plans, alert rules): one error
style, ``FILE, line N: field: message``, one line on stderr from the CLI and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import field_validator, model_validator

from salesnb import cli, configfile
from salesnb.errors import InputError
from salesnb.metrics import incentives as inc
from salesnb.sources.ingest.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[1]

# line numbers below count from 1 in this text
GOOD_MAPPING = """\
name: shop
lookups:
  codes: {file: codes.csv}
tables:
  orders:
    file: sales.csv
    header_row: 1
    columns:
      order_id: Order
      order_date: Date
      customer_id: Client
      quantity: Qty
      net_amount: Sales
    constants: {line_no: 1}
"""


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "shop"
    src.mkdir()
    (src / "sales.csv").write_text("Order,Date,Client,Qty,Sales\nA,2024-01-01,c1,1,100\n")
    (src / "codes.csv").write_text("code\nx\n")
    return src


def _cli_ingest(tmp_path: Path, mapping_text: str, capsys) -> tuple[int, list[str]]:
    """``salesnb ingest shop --into w.duckdb --mapping bad.yaml``: exit code, stderr lines."""
    mp = tmp_path / "bad.yaml"
    mp.write_text(mapping_text)
    db = tmp_path / "w.duckdb"
    code = cli.main(["ingest", str(_folder(tmp_path)), "--into", str(db), "--mapping", str(mp)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 or not db.exists()  # a bad mapping: nothing written
    return code, err


def test_a_good_mapping_loads(tmp_path, capsys):
    code, err = _cli_ingest(tmp_path, GOOD_MAPPING, capsys)
    assert code == 0 and err == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # a wrong type
        (
            "header_row: 1",
            "header_row: second",
            "bad.yaml, line 7: tables.orders.header_row: Input should be a valid integer",
        ),
        # an unknown key (a typo), with the keys that are allowed there
        (
            "    columns:\n",
            "    colums:\n",
            "bad.yaml, line 8: tables.orders.colums: unknown key (expected one of: file, sheet,",
        ),
        (
            "{file: codes.csv}",
            "{file: codes.csv, optinal: true}",
            "bad.yaml, line 3: lookups.codes.optinal: unknown key (expected one of: file,",
        ),
        # a missing required field
        (
            "    file: sales.csv\n",
            "",
            "bad.yaml, line 5: tables.orders: each source needs 'file:'",
        ),
        (
            "      net_amount: Sales\n",
            "",
            "bad.yaml, line 5: tables.orders: required column 'net_amount' of orders is not mapped",
        ),
        # a field the table does not have, at the line of that key
        (
            "      quantity: Qty\n",
            "      quantity: Qty\n      qty: Qty\n",
            "bad.yaml, line 13: tables.orders.columns.qty: 'qty' is not a column of orders",
        ),
        # checks across fields name the field they are about
        (
            "constants: {line_no: 1}",
            "constants: {line_no: 1, order_id: x}",
            "bad.yaml, line 14: tables.orders.constants.order_id: column 'order_id' is given twice",
        ),
        (
            "  orders:\n",
            "  widgets:\n",
            "bad.yaml, line 5: tables.widgets: unknown table 'widgets' (canonical tables: orders,",
        ),
        (
            "name: shop\n",
            "name: shop\ncurrency: dollars\n",
            "bad.yaml, line 2: currency: 'dollars'",
        ),
        ("tables:", "tables: [", "bad.yaml, line 6: not valid YAML"),
    ],
)
def test_a_bad_mapping_is_one_line_naming_file_line_and_field(tmp_path, capsys, old, new, expected):
    assert old in GOOD_MAPPING
    code, err = _cli_ingest(tmp_path, GOOD_MAPPING.replace(old, new, 1), capsys)
    assert code == 2
    assert len(err) == 1, err
    assert err[0].startswith("salesnb: ") and str(tmp_path) in err[0]
    assert expected in err[0], err[0]


def test_a_bad_mapping_through_a_real_process(tmp_path):
    """The same through ``python -m salesnb.cli``: exit 2, one line, no traceback."""
    mp = tmp_path / "bad.yaml"
    mp.write_text(GOOD_MAPPING.replace("header_row: 1", "header_row: [1]"))
    r = subprocess.run(
        [sys.executable, "-m", "salesnb.cli", "ingest", str(_folder(tmp_path))]
        + ["--into", str(tmp_path / "w.duckdb"), "--mapping", str(mp)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml, line 7: tables.orders.header_row: " in lines[0]


def test_yes_and_no_stay_text_in_a_mapping(tmp_path):
    mp = tmp_path / "m.yaml"
    mp.write_text(
        GOOD_MAPPING.replace(
            "    constants: {line_no: 1}\n",
            "    constants: {line_no: 1}\n    values: {returned: {Yes: true, No: false}}\n",
        )
    )
    m = load_mapping(mp)
    assert m.sources[0].values == {"returned": {"Yes": True, "No": False}}
    # and a yes/no where true/false is meant is refused, not read as truthy text
    mp.write_text(GOOD_MAPPING.replace("header_row: 1", "optional: no"))
    with pytest.raises(InputError, match=r"m.yaml, line 7: tables.orders.optional: must be true"):
        load_mapping(mp)


def test_a_list_of_sources_names_the_source(tmp_path):
    mp = tmp_path / "m.yaml"
    mp.write_text(
        "tables:\n"
        "  customers:\n"
        "  - file: a.csv\n"
        "    columns: {customer_id: Id}\n"
        "  - file: b.csv\n"
        "    colums: {customer_id: Id}\n"
    )
    with pytest.raises(InputError, match=r"m.yaml, line 6: tables.customers\[1\].colums: unknown"):
        load_mapping(mp)


# ---- commission plans ---------------------------------------------------------------

GOOD_PLAN = """\
name: mine
base_rate: 0.03
tiers:
  - {from: 0.5, rate: 0.05}
  - {from: 1.0, rate: 0.08}
spiffs:
  - {category: Software, per_unit: 5}
"""


def test_a_good_plan_loads(tmp_path):
    f = tmp_path / "plan.yaml"
    f.write_text(GOOD_PLAN)
    p = inc.load_plan(f)
    assert [(t.start, t.rate) for t in p.tiers] == [(0.5, 0.05), (1.0, 0.08)]
    assert p.spiffs == (inc.Spiff(5.0, 0.0, "Software", None),)


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "rate: 0.08",
            "rate: -0.08",
            "plan.yaml, line 5: tiers[1].rate: must be a fraction of revenue between 0 and 1",
        ),
        ("base_rate: 0.03", "base_rate: 3", "plan.yaml, line 2: base_rate: must be a fraction"),
        (
            "from: 1.0",
            "from: 0.4",
            "plan.yaml, line 5: tiers[1].from: 0.4 is not above the tier before it (0.5): "
            "list the tiers by increasing 'from'",
        ),
        (
            "from: 0.5",
            "from: 0",
            "plan.yaml, line 4: tiers[0].from: Input should be greater than 0",
        ),
        ("base_rate: 0.03\n", "", "plan.yaml, line 1: base_rate: Field required"),
        (
            "base_rate:",
            "base_rte:",
            "plan.yaml, line 2: base_rate: Field required (is 'base_rte' a misspelling of it?)",
        ),
        (
            "name: mine",
            "name: mine\nclawbak: false",
            "plan.yaml, line 2: clawbak: unknown key (expected one of: name, description, "
            "base_rate, tiers, cap_attainment, cap_amount, clawback, spiffs)",
        ),
        (
            "{category: Software, per_unit: 5}",
            "{per_unit: 5}",
            "plan.yaml, line 7: spiffs[0]: a spiff needs 'category' or 'product_id'",
        ),
    ],
)
def test_a_bad_plan_is_one_line_naming_file_line_and_field(tmp_path, old, new, expected):
    f = tmp_path / "plan.yaml"
    assert old in GOOD_PLAN
    f.write_text(GOOD_PLAN.replace(old, new, 1))
    with pytest.raises(InputError) as exc:
        inc.load_plan(f)
    msg = str(exc.value)
    assert msg.startswith(str(f)) and expected in msg and "\n" not in msg, msg


def test_an_unknown_plan_name_lists_the_known_ones():
    with pytest.raises(InputError, match="commission plan 'gold' not found; known plans: "):
        inc.load_plan("gold")


# ---- the loader itself --------------------------------------------------------------


def test_field_errors_and_made_up_indexes(tmp_path):
    class Item(configfile.Strict):
        n: int

    class Doc(configfile.Strict):
        items: list[Item]

    class Wrapped(configfile.Strict):
        items: list[Item]

        @field_validator("items", mode="before")
        @classmethod
        def _listed(cls, v):
            return v if isinstance(v, list) else [v]

        @model_validator(mode="after")
        def _positive(self):
            for i, it in enumerate(self.items):
                if it.n < 0:
                    raise configfile.FieldError(("items", i, "n"), "must not be negative")
            return self

    f = tmp_path / "c.yaml"
    f.write_text("items:\n  n: x\n")  # one item, read as a list of one: no [0] in the message
    with pytest.raises(InputError, match=r"c.yaml, line 2: items.n: Input should be a valid"):
        configfile.load(f, Wrapped)
    f.write_text("items:\n  - n: 1\n  - n: -2\n")
    with pytest.raises(InputError, match=r"c.yaml, line 3: items\[1\].n: must not be negative$"):
        configfile.load(f, Wrapped)
    f.write_text("items:\n  - n: 1\n    m: 2\n")
    with pytest.raises(
        InputError, match=r"line 3: items\[0\].m: unknown key \(expected one of: n\)"
    ):
        configfile.load(f, Doc)


def test_a_bad_plan_stops_the_report_before_any_study_runs(tmp_path, demo_warehouse):
    """``salesnb report -p plan=bad.yaml``: exit 2 and the plan's one line, no study run."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nbase_rate: -0.1\n")
    r = subprocess.run(
        [sys.executable, "-m", "salesnb.cli", "report", "--source", str(demo_warehouse)]
        + ["-p", f"plan={bad}", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines == [f"salesnb: {bad}, line 2: base_rate: " + lines[0].split("base_rate: ", 1)[1]]
    assert "between 0 and 1" in lines[0]
    assert not (tmp_path / "out").exists()
