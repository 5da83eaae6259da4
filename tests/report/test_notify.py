"""Delivery: a real local SMTP server (aiosmtpd) and a local HTTP receiver get the report's
message through Apprise; a target that refuses the connection is recorded as failed and never
fails the report; secrets in the URLs never reach manifest.json or the run's output."""

from __future__ import annotations

import email
import email.policy
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest

from salesnb import config, report, studies
from salesnb.report import notify
from salesnb.report.actions import amount_at_stake, notebook_actions

ALERTS = [
    {
        "study": "funnel",
        "key": "pipeline_coverage",
        "op": "<",
        "value": 3.0,
        "actual": 2.377235,
        "message": "Open pipeline covers less than 3x the remaining target",
        "status": "alert",
    }
]
ACTIONS = [
    {
        "study": "deals",
        "action": "Review the 137 stuck deals (1,766,419 USD) in this week's pipeline call",
        "owner": "Sales manager",
        "amount_at_stake": 1766419.0,
        "due": "2026-10-31",
    },
    {
        "study": "customers",
        "action": "致电 179 位沉默的大客户",
        "owner": "Account manager",
        "amount_at_stake": None,
        "due": "2026-10-31",
    },
]
LINK = "https://bi.example.com/reports/2026-Q3/index.html"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def _text(msg) -> str:
    parts = [p.get_content() for p in msg.walk() if p.get_content_type().startswith("text/")]
    return f"{msg['Subject']}\n" + "\n".join(parts)


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def _mailto(port: int) -> str:
    # mailto:// is plain SMTP (mailtos:// would use TLS); no user, so no login
    return f"mailto://127.0.0.1:{port}?from=salesnb@example.com&to=sales@example.com"


def test_email_and_webhook_receive_the_alerts_and_the_link_a_refused_target_fails_alone(
    smtp, webhook
):
    smtp_port, inbox = smtp
    http_port, received = webhook
    refused = _free_port()  # nothing listens there
    results = notify.send(
        [
            _mailto(smtp_port),
            f"json://127.0.0.1:{http_port}/salesnb",
            f"json://127.0.0.1:{refused}/nobody",
        ],
        "2026-Q3",
        ALERTS,
        ACTIONS,
        LINK,
        currency="USD",
    )
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[0]["error"] is None and results[1]["error"] is None
    assert results[2]["target"] == f"json://127.0.0.1:{refused}/nobody"
    assert "connection" in results[2]["error"].lower()

    (mail,) = inbox.messages
    assert mail["To"] == "sales@example.com" and "2026-Q3" in mail["Subject"]
    text = _text(mail)
    for expected in (
        "Open pipeline covers less than 3x the remaining target",
        "funnel.pipeline_coverage = 2.38",
        "Review the 137 stuck deals",
        "致电 179 位沉默的大客户",
        LINK,
    ):
        assert expected in text, expected

    (post,) = received
    assert post["path"] == "/salesnb"
    payload = json.loads(post["body"])
    assert payload["title"] == "salesnb report 2026-Q3: 1 alert fired"
    assert "Open pipeline covers less than 3x the remaining target" in payload["message"]
    assert "2.38" in payload["message"] and LINK in payload["message"]
    assert "owner: Sales manager; at stake 1,766,419 USD; due 2026-10-31" in payload["message"]


def test_an_unknown_url_is_a_failed_delivery_not_an_error():
    (r,) = notify.send(["nosuchservice://x"], "2026-Q3", [], [], LINK)
    assert r == {
        "target": "nosuchservice://x",
        "ok": False,
        "error": "not a notification URL Apprise knows",
    }


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("mailto://sales:Hunter2pw@smtp.example.com:587?to=a@example.com", "Hunter2pw"),
        ("json://bot:s3cret@127.0.0.1:8080/hook?+X-Token=tok3n", "tok3n"),
        ("dingtalk://SEC0123456789abcdef@abcdef0123456789abcdef01", "0123456789abcdef"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "ajkdnlazkcOXrIdevi7FQ"),
        ("feishu://0f1d6e8a-2b4c-4e6d-9f8a-1b2c3d4e5f6a", "2b4c-4e6d-9f8a"),
        ("wecombot://a1b2c3d4e5f6a7b8c9d0e1f2", "c3d4e5f6a7b8c9d0"),
    ],
)
def test_secrets_in_urls_are_masked(url, secret):
    masked = notify.mask(url)
    assert secret not in masked and "****" in masked
    assert masked.split("://")[0] == url.split("://")[0]


def test_salesnb_notify_lists_urls_separated_by_spaces_or_commas():
    assert notify.targets_from_env("") == []
    assert notify.targets_from_env(
        "mailto://h?to=a@x.com,b@x.com,json://h:1/p\n dingtalk://t ,"
    ) == ["mailto://h?to=a@x.com,b@x.com", "json://h:1/p", "dingtalk://t"]


# --- a whole (tiny) report run with --notify -----------------------------------------------

PARAMS = "\n".join(
    f'{n}: str = ""  # {n}'
    for n in ("source", "period", "as_of", "region", "team", "channel", "currency", "output_dir")
)
OPEN = (
    'from salesnb import study\nctx = study.open("alpha", source=source, period=period, '
    "as_of=as_of, region=region, team=team, channel=channel, currency=currency, "
    "output_dir=output_dir)"
)
WHAT_TO_DO = """
import pandas as pd
from IPython.display import Markdown, display
display(Markdown("- Call the **3** quiet customers: they bought 1,234 USD last year.\\n"
                 "- 检查上海的退货 (`alpha-list.csv`)."))
ctx.write_csv(pd.DataFrame({"客户": ["上海云海贸易"], "amount": [1234.0]}), "alpha-list.csv")
ctx.headline(rows=ctx.src.table("orders").count().execute())
ctx.save();
"""


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch) -> Path:
    """One study over a 12-line warehouse (2024): its "What to do" names two actions."""
    wh = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("""
        CREATE TABLE orders AS SELECT
          'O' || i AS order_id, 1 AS line_no, DATE '2024-01-15' + INTERVAL (i) MONTH AS order_date,
          'C1' AS customer_id, 'R1' AS rep_id, 'P1' AS product_id, 'Online' AS channel,
          'North' AS region, 'CN' AS country, 1.0 AS quantity, 100.0 AS unit_price,
          0.0 AS discount, 100.0 AS net_amount, 'USD' AS currency
        FROM range(12) t(i);
        ALTER TABLE orders ALTER order_date TYPE DATE;
    """)
    con.close()
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(
        cells=[
            params,
            nbformat.v4.new_code_cell(OPEN),
            nbformat.v4.new_markdown_cell("## What to do"),
            nbformat.v4.new_code_cell(WHAT_TO_DO.strip()),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(nbs / "a.ipynb"))
    monkeypatch.setattr(
        studies, "STUDIES", {"alpha": studies.Study("alpha", "a.ipynb", "Alpha", ("orders",))}
    )
    monkeypatch.setattr(config, "NOTEBOOK_DIR", nbs)
    (tmp_path / "rules.yaml").write_text(
        "- {study: alpha, key: rows, op: '>', value: 10, message: More than 10 order lines}\n"
    )
    return wh


def test_a_report_run_notifies_records_masked_results_and_writes_actions(
    tiny_suite, smtp, webhook, tmp_path
):
    smtp_port, inbox = smtp
    http_port, received = webhook
    refused = _free_port()
    out, stream = tmp_path / "reports", io.StringIO()
    code = report.run_report(
        source=str(tiny_suite),
        period="2024",
        out=out,
        workers=1,
        alerts_file=tmp_path / "rules.yaml",
        stream=stream,
        notify=[
            _mailto(smtp_port),
            f"json://bot:s3cretpw@127.0.0.1:{http_port}/hook?+X-Token=tok3n",
            f"json://127.0.0.1:{refused}/nobody",
        ],
    )
    assert code == 0  # the failed delivery does not fail the report
    folder = out / "2024"
    link = str(folder.resolve() / "index.html")

    manifest = json.loads((folder / "manifest.json").read_text())
    deliveries = manifest["notifications"]
    assert [d["ok"] for d in deliveries] == [True, True, False]
    assert deliveries[2]["error"] and deliveries[0]["error"] is None
    text = (folder / "manifest.json").read_text() + stream.getvalue()
    assert "s3cretpw" not in text and "tok3n" not in text
    assert f"json://bot:****@127.0.0.1:{http_port}/hook?+X-Token=****" in text
    assert manifest["report_files"] == ["actions.csv", "tables.xlsx"]
    assert manifest["artefacts"] == ["alpha-list.csv"]
    log = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in log if line.startswith("notify ")] == [
        "notify mailto",
        "notify json",
        "notify json",
    ]
    assert any(line.endswith("sent") for line in log) and "FAILED (" in stream.getvalue()
    assert log[-1].startswith("report 2024: 1 ok")

    for body in (_text(inbox.messages[0]), json.loads(received[0]["body"])["message"]):
        assert "More than 10 order lines: alpha.rows = 12 (> 10)" in body
        assert "Call the 3 quiet customers" in body and link in body
    assert received[0]["headers"].get("X-Token") == "tok3n"  # the real secret is still sent

    actions = pd.read_csv(folder / "actions.csv", encoding="utf-8-sig")
    assert (folder / "actions.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    records = actions.astype(object).where(actions.notna(), None).to_dict("records")
    assert records == [
        {
            "study": "alpha",
            "action": "Call the 3 quiet customers: they bought 1,234 USD last year.",
            "owner": "Sales manager",
            "amount_at_stake": 1234.0,
            "due": "2025-01-31",
            "people": None,
        },
        {
            "study": "alpha",
            "action": "检查上海的退货 (alpha-list.csv).",
            "owner": "Sales manager",
            "amount_at_stake": None,
            "due": "2025-01-31",
            "people": None,
        },
    ]
    import openpyxl

    assert openpyxl.load_workbook(folder / "tables.xlsx").sheetnames == ["actions", "alpha-list"]


def test_actions_are_read_from_the_what_to_do_section_only(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## Pipeline"),
            nbformat.v4.new_code_cell("x", outputs=[_md("- not an action")]),
            nbformat.v4.new_markdown_cell("## What to do"),
            nbformat.v4.new_code_cell("y", outputs=[_md("- **Fix** Proposal\n- Call `C1`")]),
            nbformat.v4.new_markdown_cell("## Appendix"),
            nbformat.v4.new_code_cell("z", outputs=[_md("- not one either")]),
        ]
    )
    nbformat.write(nb, str(tmp_path / "s.ipynb"))
    assert notebook_actions(tmp_path / "s.ipynb") == ["Fix Proposal", "Call C1"]
    assert notebook_actions(tmp_path / "missing.ipynb") == []
    assert amount_at_stake("a 2.5M USD gap and 300k USD more", "USD") == 2_500_000.0


def _md(text: str):
    return nbformat.v4.new_output(
        "display_data", data={"text/markdown": text, "text/plain": "<Markdown>"}
    )
