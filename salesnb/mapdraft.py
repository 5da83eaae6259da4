"""``salesnb map DIR``: draft a YAML mapping for a folder of exports nobody has described yet.

The draft is written in exactly the format ``salesnb ingest --mapping`` reads (see the
docstring of :mod:`salesnb.ingest`), with a comment on every guess saying why it was made
and how sure it is, so an analyst reviews a page of YAML instead of writing one.

How it guesses
--------------
1. **Read.** Every CSV/TSV/text, Excel (every sheet) and Parquet file is read with the same
   readers ingest uses (:func:`salesnb.ingest.read_csv`, ``read_excel``, ``read_parquet``),
   so encodings (UTF-8, BOM, GB18030...), Excel sheets and bad lines behave as they will
   at ingest. Large text files are sampled: only their first few megabytes are read.
   The layout is sniffed first: fields separated by runs of blanks (``delimiter:
   whitespace``), title lines above the header (``header_row``), and files without a
   header line (a first line that is all numbers and dates).
2. **Profile** each source column on the rows read: numbers (thousands separators,
   currency marks and ``%`` as ingest reads them), dates (the ingest date formats; the
   formats that cover the column are written to ``date_formats`` so next month's export
   reads the same way), true/false, uniqueness, and the set of values when it is small.
3. **Score** every (canonical column, source column) pair by name: headers are
   normalised (case, ``_``/``-``/camelCase, units in brackets, abbreviations such as
   qty, amt, cust, No./#/code -> id) and compared with the canonical name and a list of
   usual CRM/ERP header words in English and Chinese (``sales_agent``/``owner``/销售员 ->
   rep, ``account``/客户 -> customer, ``close_value``/``Sales``/金额 -> amount, 下单日期 ->
   order date...): same word, a header that contains the word, or a near spelling
   (:mod:`difflib`). The type must fit (a date column must hold dates). Values can stand
   in for a name: a column holding Won/Lost/Engaging is a stage and status, one holding
   East/West/... a region, Online/Retail a channel, and so on.
4. **Assign** greedily, best score first, one source column per canonical column, with
   a few known reuses: the stage column also gives the status (with a value map to
   open/won/lost), an id column whose values are names also gives the name.
   ``line_no`` is derived when there is an order number (``row_number()`` per order, or
   the constant 1 when every order has one line), ``cost`` from a profit column.
5. **Choose a table per file**: how many required columns were found, how much of the
   file is used, whether the key is unique (a customers table has one row per customer)
   and whether the file or sheet name says it (pipeline -> opportunities, 客户 ->
   customers...). A file that fits no table well gets a commented-out stub with its best
   guess. Two files with the same columns and the same rows (an Excel sheet and its CSV
   export) are read once; files with the same columns and different rows are stacked
   (one ``file:`` glob when their names differ only in digits, e.g. monthly exports).
6. **Cross-check** foreign keys between the files: a value that matches a parent key only
   when case, spaces and punctuation are ignored (``GTXPro`` vs ``GTX Pro``) gets a value
   map; an optional reference whose values mostly resolve nowhere is left out with a
   comment, and other unresolved values get a warning on their line.

A required canonical column (``schema.Table.required_columns``) nothing was found for is
left out of the YAML and marked by a ``# TODO <column>:`` line in its table. The draft is
therefore valid YAML and ``salesnb ingest --mapping draft.yaml`` stops with ingest's own
one-line error ``required column '<column>' of <table> is not mapped``; the TODO line
carries the same words, and ``salesnb map`` prints the line number of every TODO.

Why it is hand-written: the inputs are a handful of headers and a sample of values per
file, and the output must be reviewable YAML with a reason on every line. Schema-matching
libraries (valentine and similar) match two databases to each other, need heavy
dependencies, and return scores without reasons; an LLM or a trained model would need
weights or a network this tool must not depend on. A synonym table plus
:func:`difflib.SequenceMatcher` (standard library) is small, deterministic, explainable,
and easy to extend with a department's own header words.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import fnmatch
import json
import re
import shutil
import tempfile
import textwrap
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from salesnb.errors import InputError
from salesnb.ingest import (
    CSV_EXTS,
    EXCEL_EXTS,
    PARQUET_EXTS,
    _close_workbooks,
    _Loader,
    _sniff_delimiter,
    _workbook,
    detect_encoding,
    excel_sheets,
    read_csv,
    read_excel,
    read_parquet,
)
from salesnb.schema import TABLES, Table
from salesnb.validate import DATE_FORMATS, FALSE_WORDS, TRUE_WORDS, coerce_column

TEXT_EXTS = {".txt", ".dat"}  # read as text tables when they look like one
SAMPLE_BYTES = 8 << 20  # text files larger than this are sampled (their head only)
PROFILE_ROWS = 20_000  # rows profiled per file
MIN_SCORE = 0.5  # a column guess below this is not made
ACTIVE_SCORE = 0.4  # a file whose best table scores below this gets a commented stub

# Tables whose rows are things with an identity: their key should be unique in a file.
ENTITY_TABLES = {
    "customers",
    "products",
    "reps",
    "leads",
    "opportunities",
    "tickets",
    "surveys",
}

# --------------------------------------------------------------------------------------
# Vocabulary: header words per canonical column, table words for file names, value sets
# --------------------------------------------------------------------------------------

_REP = (
    "rep|rep id|sales rep|sales rep id|sales agent|agent|agent id|salesperson|sales person|"
    "salesman|saleswoman|seller|owner|owner id|account owner|opportunity owner|deal owner|"
    "sales owner|account manager|assigned to|employee id|staff id|person|rep name|"
    "销售员|业务员|销售代表|销售人员|负责人|跟进人|销售经理|客户经理|员工编号|工号|经办人"
)
_CUSTOMER = (
    "customer|customer id|client|client id|account|account id|buyer|buyer id|member id|"
    "company id|cust|客户|客户编号|客户id|客户代码|客户号|客户编码|会员号|会员编号|买家|买方"
)
_PRODUCT = (
    "product|product id|sku|sku id|item|item id|article|article id|material|material id|"
    "part id|model|产品|产品编号|产品id|产品代码|产品编码|商品|商品编号|商品id|商品编码|物料|"
    "物料编号|物料编码|型号|货号|品号"
)
_AMOUNT = (
    "amount|net amount|sales|sale amount|sales amount|revenue|net revenue|net sales|"
    "sales value|total|total amount|line total|line amount|value|order value|sale value|"
    "turnover|extended price|dollar value|dollars|gmv|金额|销售额|销售金额|实收金额|成交金额|"
    "总金额|订单金额|总价|营业额|收入|合计|实付金额|净额"
)
_DATE_OPEN = (
    "created date|created|create date|creation date|created on|created at|open date|"
    "opened|opened date|engage date|engaged|engaged date|start date|创建日期|创建时间|开始日期"
)
_SYNONYMS: dict[str, str] = {
    # orders
    "order_id": (
        "order|order id|orderid|invoice|invoice id|transaction id|sales order|sales order id|"
        "so id|document id|receipt id|bill id|订单号|订单编号|订单id|单号|销售单号|发票号|单据编号|"
        "单据号|交易号|交易编号"
    ),
    "line_no": "line|line id|line item|item line|position|pos|seq|sequence|行号|序号|明细行号|项次",
    "order_date": (
        "date|order date|order day|invoice date|transaction date|sale date|sales date|"
        "purchase date|booking date|booked date|document date|order time|下单日期|订单日期|日期|"
        "销售日期|交易日期|下单时间|开票日期|单据日期"
    ),
    "customer_id": _CUSTOMER,
    "rep_id": _REP,
    "product_id": _PRODUCT,
    "channel": "channel|sales channel|order channel|channel name|渠道|销售渠道|订单渠道",
    "region": (
        "region|area|territory|zone|sales region|regional office|region name|district|"
        "地区|区域|大区|片区|销售区域"
    ),
    "country": "country|nation|country name|country code|国家|国别",
    "quantity": "quantity|units|unit count|pieces|pcs|volume|count|数量|件数|销量|销售数量",
    "unit_price": "unit price|price|price each|selling price|sale price|单价|价格|售价|销售单价",
    "discount": "discount|discount rate|disc|rebate|折扣|折扣率|优惠|折扣比例",
    "net_amount": _AMOUNT,
    "currency": "currency|currency id|ccy|curr|币种|货币",
    "cost": "cost|cogs|cost of goods|total cost|cost amount|成本|成本金额|总成本",
    "is_return": "is return|return|return flag|return line|退货|是否退货|退货标记",
    "returned": "returned|was returned|已退货",
    # customers
    "name": "name|full name|display name|名称|姓名|名字",
    "segment": (
        "segment|customer segment|tier|customer type|customer class|size|细分|客户类型|"
        "客户分类|客户等级|客户类别"
    ),
    "industry": "industry|sector|vertical|行业|所属行业",
    "created_date": _DATE_OPEN,
    "owner_rep_id": (
        "owner|owner id|account owner|account manager|sales rep|rep|salesperson|sales agent|"
        "负责人|客户经理|销售员|业务员"
    ),
    # products
    "category": (
        "category|product category|series|family|product family|product line|group|"
        "product group|类别|品类|分类|系列|产品类别|商品类别"
    ),
    "list_price": "list price|price|sales price|msrp|unit price|标价|价格|单价|售价|零售价",
    "unit_cost": "unit cost|cost|cost price|purchase price|成本|进价|成本价",
    "launch_date": "launch date|release date|introduced|introduction date|上市日期|发布日期",
    "is_green": "green|eco|sustainable|环保",
    # reps
    "team": "team|sales team|squad|team name|团队|小组|部门|销售团队",
    "manager_id": "manager|manager id|supervisor|reports to|boss|经理|主管|上级",
    "hire_date": "hire date|start date|joined|date joined|hired|entry date|入职日期|入职时间",
    "role": "role|title|job title|position|level|职位|岗位|职级|角色",
    # targets
    "period": "period|month|quarter|year|fiscal period|期间|月份|季度|年份",
    "level": "level|target level|层级|级别",
    "key": "key|unit|entity|对象",
    "target_amount": (
        "target|target amount|quota|goal|plan|budget|目标|目标金额|指标|任务额|配额|销售目标"
    ),
    # leads
    "lead_id": "lead|lead id|prospect id|线索编号|线索id|线索",
    "source": "source|lead source|origin|campaign|utm source|来源|线索来源|商机来源",
    "converted_opportunity_id": "converted opportunity|converted opportunity id|转化商机",
    # opportunities
    "opportunity_id": (
        "opportunity|opportunity id|opp id|deal|deal id|商机编号|商机id|商机|机会编号|商机号"
    ),
    "close_date": (
        "close date|closed date|closed|closing date|expected close|expected close date|"
        "won date|关闭日期|成交日期|结束日期|签约日期|预计成交日期"
    ),
    "amount": (
        "amount|value|deal value|deal amount|deal size|close value|revenue|expected revenue|"
        "sales|opportunity amount|金额|商机金额|预计金额|成交金额|合同金额|预计成交金额"
    ),
    "stage": "stage|deal stage|sales stage|pipeline stage|phase|阶段|销售阶段|商机阶段",
    "status": "status|state|outcome|result|won lost|状态|结果|商机状态",
    "loss_reason": "loss reason|lost reason|reason lost|reason|输单原因|丢单原因|原因",
    "competitor": "competitor|lost to|competition|竞争对手|竞品|对手",
    # stage history, tickets, surveys, market, trainings, pilots
    "entered_date": "entered date|entered|date|changed date|stage date|进入日期|日期",
    "ticket_id": "ticket|ticket id|case|case id|incident|incident id|工单号|工单编号|工单",
    "opened_at": "opened|opened at|created|created at|open date|创建时间|开单时间|提交时间",
    "first_response_at": "first response|first response at|responded at|首次响应时间",
    "resolved_at": (
        "resolved|resolved at|closed|closed at|resolution date|解决时间|关闭时间|完成时间"
    ),
    "priority": "priority|severity|urgency|优先级|紧急程度",
    "csat": "csat|satisfaction|rating|score|满意度|评分",
    "response_id": "response|response id|survey id|respondent|问卷编号|答卷编号",
    "date": "date|survey date|response date|日期",
    "nps": "nps|nps score|likelihood to recommend|recommend|推荐值|净推荐值",
    "touchpoint": "touchpoint|touch point|触点|接触点",
    "comment": "comment|comments|feedback|verbatim|remark|remarks|评论|备注|意见",
    "market_size": "market size|market|tam|market value|市场规模|市场容量",
    "competitor_sales": "competitor sales|竞品销售额|对手销售额",
    "program": "program|course|training|课程|培训|培训项目",
    "pilot": "pilot|experiment|test|试点|实验",
    "unit_type": "unit type|单元类型",
    "unit_id": "unit id|unit|单元编号",
    "group": "group|arm|variant|cohort|组别|分组",
    "start_date": "start date|start|begin date|开始日期",
    "end_date": "end date|end|finish date|结束日期",
}
# A column's words can depend on its table.
_TABLE_SYNONYMS: dict[tuple[str, str], str] = {
    (
        "customers",
        "name",
    ): "customer name|account name|company|company name|client name|客户名称|公司名称|公司|客户名",
    ("products", "name"): "product name|item name|description|title|产品名称|商品名称|品名",
    ("reps", "name"): "rep name|agent name|sales agent name|employee name|销售员姓名|员工姓名",
    ("reps", "rep_id"): _REP + "|employee|staff|员工",
    ("reps", "region"): "region|area|territory|regional office|office|地区|区域|大区",
    ("customers", "created_date"): _DATE_OPEN
    + "|customer since|since|signup date|registration date|注册日期|开户日期",
    ("leads", "created_date"): _DATE_OPEN + "|date|lead date|日期",
    ("opportunities", "discount"): "discount|discount rate|折扣|折扣率",
    ("surveys", "csat"): "csat|satisfaction|满意度",
    ("market", "period"): "period|month|quarter|year|期间|月份|季度|年份",
}

_TABLE_WORDS: dict[str, str] = {
    "orders": (
        "order|orders|order line|order lines|order items|sale|sales|transaction|transactions|"
        "invoice|invoices|line items|订单|销售|交易|流水|明细"
    ),
    "customers": "customer|customers|client|clients|account|accounts|buyer|buyers|客户|会员",
    "products": (
        "product|products|item|items|sku|skus|catalog|catalogue|article|articles|产品|商品|物料"
    ),
    "reps": (
        "rep|reps|sales rep|sales reps|sales team|sales teams|team|teams|agent|agents|people|"
        "staff|employee|employees|salesperson|salespeople|销售员|业务员|员工|人员|团队"
    ),
    "targets": "target|targets|quota|quotas|goal|goals|plan|budget|目标|指标|任务",
    "leads": "lead|leads|prospect|prospects|线索",
    "opportunities": "opportunity|opportunities|opp|opps|deal|deals|pipeline|商机|机会",
    "stage_history": "stage history|history|stage changes|阶段历史",
    "tickets": "ticket|tickets|case|cases|support|incident|incidents|工单|售后",
    "surveys": "survey|surveys|nps|feedback|csat|问卷|调查|满意度",
    "market": "market|markets|market size|市场",
    "trainings": "training|trainings|course|courses|培训",
    "pilots": "pilot|pilots|experiment|experiments|ab test|试点|实验",
}


def _set(spec: str) -> set[str]:
    return {w.strip() for w in spec.split("|") if w.strip()}


_WON = _set("won|win|closed won|closedwon|success|赢单|成交|已成交|签约|已签约|赢")
_LOST = _set("lost|lose|loss|closed lost|closedlost|输单|丢单|失败|流失|丢失|已丢单")
_OPEN = _set(
    "open|engaging|prospecting|qualified|qualification|qualify|proposal|negotiation|"
    "discovery|demo|new|in progress|pending|contacted|跟进中|进行中|洽谈|谈判|初步接触|方案|报价|"
    "意向|需求确认|商务谈判"
)
# Value sets: a column whose values are mostly from one of these says what it is.
_VOCAB: dict[str, set[str]] = {
    "status": _WON | _LOST | _OPEN,
    "channel": _set(
        "online|offline|retail|direct|partner|partners|reseller|distributor|distribution|web|"
        "website|e-commerce|ecommerce|store|shop|wholesale|telesales|inside sales|field sales|"
        "field|marketplace|amazon|tmall|jd|app|mobile|catalog|phone|线上|线下|电商|门店|直销|分销|"
        "代理|经销商|批发|零售|电话销售|天猫|京东"
    ),
    "region": _set(
        "east|west|north|south|central|northeast|northwest|southeast|southwest|midwest|emea|"
        "apac|amer|americas|europe|asia|latam|north america|south america|africa|middle east|"
        "oceania|华东|华南|华北|华中|西南|西北|东北|东部|西部|南部|北部|中部"
    ),
    "country": _set(
        "united states|usa|us|united kingdom|uk|china|中国|germany|france|japan|india|canada|"
        "brazil|mexico|australia|italy|spain|netherlands|korea|south korea|singapore|"
        "philippines|kenya|panama|norway|jordan|poland|romania|belgium|sweden|denmark|finland|"
        "switzerland|austria|ireland|portugal|greece|turkey|russia|ukraine|israel|egypt|"
        "nigeria|south africa|argentina|chile|colombia|peru|indonesia|malaysia|thailand|"
        "vietnam|new zealand|saudi arabia|united arab emirates|uae|pakistan|bangladesh|taiwan|"
        "hong kong|美国|日本|德国|英国|法国|韩国"
    ),
    "segment": _set(
        "consumer|corporate|home office|smb|sme|enterprise|mid-market|midmarket|small business|"
        "government|public sector|education|b2b|b2c|个人|企业|政府|大客户|中小企业"
    ),
    "currency": _set(
        "usd|eur|gbp|cny|rmb|jpy|chf|cad|aud|hkd|sgd|inr|krw|sek|nok|dkk|brl|mxn|人民币|美元|欧元"
    ),
    "priority": _set("low|medium|high|urgent|critical|p1|p2|p3|p4|高|中|低|紧急"),
}
# Which canonical columns a value set speaks for, and how strongly.
_VOCAB_COLUMNS: dict[str, dict[str, float]] = {
    "status": {"status": 0.8, "stage": 0.75},
    "channel": {"channel": 0.75},
    "region": {"region": 0.75},
    "country": {"country": 0.75},
    "segment": {"segment": 0.7},
    "currency": {"currency": 0.75},
    "priority": {"priority": 0.7},
}
_PROFIT = {"profit", "margin", "gross profit", "gross margin", "毛利", "利润", "毛利润", "毛利额"}

_ABBREV = {
    "cust": "customer",
    "acct": "account",
    "prod": "product",
    "qty": "quantity",
    "amt": "amount",
    "dt": "date",
    "opp": "opportunity",
    "oppty": "opportunity",
    "txn": "transaction",
    "trx": "transaction",
    "inv": "invoice",
    "mgr": "manager",
    "cat": "category",
    "desc": "description",
    "no": "id",
    "nr": "id",
    "nbr": "id",
    "num": "id",
    "number": "id",
    "code": "id",
}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def norm_header(name) -> str:
    """A header as words: ``Order_No.`` -> ``order id``, ``CustomerID`` -> ``customer id``.

    >>> norm_header("Number of CDs"), norm_header("Sales (USD)"), norm_header("客户编号")
    ('count cds', 'sales', '客户编号')
    """
    s = str(name).replace("\ufeff", "").strip()
    inner = re.sub(r"\s*[(（\[].*?[)）\]]\s*", " ", s).strip()
    s = inner or s
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z]{2,})", r"\1 \2", s)  # IDNumber; not CDs
    s = s.lower().replace("#", " no ").replace("&", " and ")
    s = re.sub(r"[\s_\-./:,;'\"`%?!*+=|\\]+", " ", s).strip()
    s = re.sub(r"^(number|num|no|nr|count|total number) of\b", "count", s)
    words = []
    for w in s.split():
        if len(w) > 3 and w.endswith("id") and w[:-2] in _CONCEPTS:
            words.extend([w[:-2], "id"])
        else:
            words.append(_ABBREV.get(w, w))
    return " ".join(words)


_CONCEPTS = {"order", "customer", "product", "rep", "account", "client", "item", "deal", "lead"}
_ROW_ID = {norm_header(w) for w in ("row id", "row", "row no", "index", "#", "行号", "序号")}


def _words(spec: str) -> list[str]:
    return list(dict.fromkeys(norm_header(w) for w in spec.split("|") if w.strip()))


def synonyms(table: str, column: str) -> list[str]:
    """The header words (normalised) that name ``table.column``; the column's own name first."""
    own = norm_header(column)
    spec = _TABLE_SYNONYMS.get((table, column), _SYNONYMS.get(column, ""))
    return list(dict.fromkeys([own, *_words(spec)]))


_TABLE_WORD_LISTS = {t: _words(s) for t, s in _TABLE_WORDS.items()}


# --------------------------------------------------------------------------------------
# Reading the folder
# --------------------------------------------------------------------------------------


@dataclass
class ColumnProfile:
    """What the rows read say about one source column."""

    name: str
    position: int
    norm: str
    rows: int
    filled: int
    distinct: int
    unique: bool
    kind: str  # empty, bool, int, float, date, datetime, text
    text: pd.Series  # the values as text (missing: NA)
    formats: list[str] = field(default_factory=list)  # date formats covering text dates
    ambiguous: str | None = None  # e.g. "month-first or day-first"
    values: list[str] | None = None  # every distinct value, most frequent first (small sets)
    vocab: str | None = None
    vocab_hits: list[str] = field(default_factory=list)
    zero_padded: bool = False
    name_like: bool = False  # values look like names of people or things, not codes
    max: float | None = None
    integral: bool = False

    def examples(self, k: int = 3) -> str:
        vals = self.values or list(dict.fromkeys(self.text.dropna().head(200)))
        return ", ".join(_short(v) for v in vals[:k])


@dataclass
class SourceFile:
    """One file (or Excel sheet) as read for drafting."""

    path: Path
    sheet: str | None
    df: pd.DataFrame
    rows_read: int
    truncated: bool = False
    header_row: int = 1
    delimiter: str | None = None
    headerless: bool = False
    first_line: list[str] = field(default_factory=list)
    profiles: list[ColumnProfile] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name

    def profile(self, name: str) -> ColumnProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)


@contextlib.contextmanager
def _head_copy(path: Path) -> Iterator[tuple[Path, bool]]:
    """``path`` itself, or a copy of its first SAMPLE_BYTES (cut at a line end) when larger."""
    if path.stat().st_size <= SAMPLE_BYTES:
        yield path, False
        return
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-map-"))
    try:
        copy = tmp / path.name
        copy.write_bytes(head)
        yield copy, True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_NUMBER_LIKE = re.compile(r"^[+-]?[$€£¥]?\(?\d[\d,]*(\.\d+)?\)?%?$")
_DATE_LIKE = re.compile(r"^(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})")


def _looks_like_data(v) -> bool:
    s = str(v).strip()
    return bool(s) and bool(_NUMBER_LIKE.match(s) or _DATE_LIKE.match(s))


def _headerless(fields: list) -> bool:
    """A first line that is all numbers and dates is data, not a header."""
    filled = [f for f in fields if str(f).strip()]
    return len(fields) >= 2 and bool(filled) and all(_looks_like_data(f) for f in filled)


def _split(line: str, delim: str) -> list[str]:
    if delim == "whitespace":
        return line.split()
    return next(csv.reader([line], delimiter=delim), [])


def _read_text(path: Path, notes: list[str]) -> SourceFile | None:
    """A CSV-like file; None for a .txt that is not a table (noted)."""
    with _head_copy(path) as (p, truncated):
        enc = detect_encoding(p)
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
        text = head.decode(enc, errors="ignore").lstrip("\ufeff")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(head) == 1 << 16 and len(lines) > 1:
            lines = lines[:-1]  # maybe cut in the middle
        lines = lines[:200]
        if not lines:
            raise InputError(
                f"{path.name}: the file is empty (expected a header line and data rows)"
            )
        if path.suffix.lower() == ".tsv":
            delim = "\t"
        else:
            delim = _sniff_delimiter(lines[0])
            if lines[0].count(delim) == 0:
                n = len(lines[0].split())
                rest = [len(ln.split()) for ln in lines[1:21]]
                if n >= 2 and (not rest or sum(k == n for k in rest) >= 0.8 * len(rest)):
                    delim = "whitespace"
        counts = [len(_split(ln, delim)) for ln in lines]
        mode = Counter(counts[1:] or counts).most_common(1)[0][0]
        header_row = 1
        if counts[0] < mode:  # title lines above the header
            for i, k in enumerate(counts[:10]):
                if k == mode:
                    header_row = i + 1
                    break
        if mode < 2 and path.suffix.lower() in TEXT_EXTS:
            notes.append(f"{path.name}: not used (text without columns)")
            return None
        first = _split(lines[header_row - 1], delim)
        if _headerless(first):
            body = p.read_text(encoding=enc, errors="replace").lstrip("\ufeff").splitlines()
            rows = [_split(ln, delim) for ln in body if ln.strip()]
            n = len(first)
            rows = [r for r in rows if len(r) == n][: PROFILE_ROWS * 5]
            df = pd.DataFrame(rows, columns=[f"column_{i + 1}" for i in range(n)], dtype="str")
            return SourceFile(
                path,
                None,
                df,
                len(df),
                truncated,
                header_row,
                "whitespace" if delim == "whitespace" else None,
                headerless=True,
                first_line=first,
            )
        raw = read_csv(p, None, "whitespace" if delim == "whitespace" else None, header_row)
        return SourceFile(
            path,
            None,
            raw.df,
            len(raw.df),
            truncated,
            header_row,
            "whitespace" if delim == "whitespace" else None,
        )


def _read_sheets(path: Path, notes: list[str]) -> list[SourceFile]:
    out = []
    for sheet in excel_sheets(path):
        try:
            raw = read_excel(path, sheet)
        except InputError:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peek = _workbook(path).parse(sheet_name=sheet, header=None, nrows=5)
            if peek.dropna(how="all").shape[0] <= 1:
                notes.append(f"{path.name}[{sheet}]: not used (empty sheet)")
                continue
            raise
        header_row = 1
        unnamed = sum(str(c).startswith("Unnamed:") for c in raw.df.columns)
        if unnamed > len(raw.df.columns) / 2:  # title rows above the header
            for h in range(2, 7):
                try:
                    r = read_excel(path, sheet, h)
                except InputError:
                    continue
                if (
                    sum(str(c).startswith("Unnamed:") for c in r.df.columns)
                    <= len(r.df.columns) / 4
                ):
                    raw, header_row = r, h
                    break
        sf = SourceFile(path, sheet, raw.df, len(raw.df), header_row=header_row)
        if _headerless(list(raw.df.columns)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = _workbook(path).parse(sheet_name=sheet, header=None, dtype=object)
            df = df.dropna(how="all").reset_index(drop=True)
            sf.first_line = [str(c) for c in df.iloc[0]]
            df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
            sf.df, sf.rows_read, sf.headerless = df, len(df), True
        out.append(sf)
    return out


def read_folder(folder: Path) -> tuple[list[SourceFile], list[str]]:
    """Every data file (and sheet) of ``folder``, profiled; and notes on files not used."""
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder (expected a folder of CSV, Excel or Parquet files)"
        )
    notes: list[str] = []
    files: list[SourceFile] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        ext = p.suffix.lower()
        if ext in EXCEL_EXTS:
            files.extend(_read_sheets(p, notes))
        elif ext in PARQUET_EXTS:
            raw = read_parquet(p)
            files.append(SourceFile(p, None, raw.df, len(raw.df)))
        elif ext in CSV_EXTS:
            sf = _read_text(p, notes)
            if sf is not None:
                files.append(sf)
        elif ext in TEXT_EXTS:  # read only when it turns out to be a text table
            try:
                sf = _read_text(p, notes)
            except InputError as exc:
                notes.append(f"{p.name}: not used ({str(exc).split(': ', 1)[-1]})")
                continue
            if sf is not None:
                files.append(sf)
        else:
            notes.append(f"{p.name}: not used (not a CSV, Excel, Parquet or text table)")
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to map)")
    for sf in files:
        sf.profiles = [_profile(sf.df[c], c, i) for i, c in enumerate(sf.df.columns)]
    prose = [
        sf
        for sf in files
        if sf.path.suffix.lower() in TEXT_EXTS
        and sf.delimiter == "whitespace"
        and all(p.kind in ("text", "empty") for p in sf.profiles)
    ]
    notes += [f"{sf.path.name}: not used (words, not a table of values)" for sf in prose]
    files = [sf for sf in files if sf not in prose]
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to map)")
    return files, notes


# --------------------------------------------------------------------------------------
# Profiling a column
# --------------------------------------------------------------------------------------


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _short(v, n: int = 24) -> str:
    s = " ".join(str(v).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _date_cover(text: pd.Series) -> tuple[list[str], float, str | None]:
    """The formats (ingest's list, best first) that together read ``text``; share read."""
    sample = text.dropna()
    sample = sample if len(sample) <= 2000 else sample.sample(2000, random_state=0)
    if sample.empty:
        return [], 0.0, None
    hits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            ok = pd.to_datetime(sample, format=fmt, errors="coerce").notna()
            if ok.any():
                hits[fmt] = ok
    ranked = sorted(hits, key=lambda f: (-int(hits[f].sum()), DATE_FORMATS.index(f)))
    chosen: list[str] = []
    covered = pd.Series(False, index=sample.index)
    for fmt in ranked:
        new = hits[fmt] & ~covered
        if new.sum() >= max(1, 0.01 * len(sample)):
            chosen.append(fmt)
            covered |= hits[fmt]
    ambiguous = None
    if chosen:
        pairs = {("%m/%d/%Y", "%d/%m/%Y"), ("%m/%d/%y", "%d/%m/%y")}
        for us, eu in pairs:
            if us in hits and eu in hits and hits[us].sum() == hits[eu].sum() == len(sample):
                ambiguous = f"every value reads both month-first and day-first ({us} or {eu})"
    return chosen, float(covered.mean()), ambiguous


def _profile(raw: pd.Series, name, position: int) -> ColumnProfile:
    raw = raw.head(PROFILE_ROWS * 5).reset_index(drop=True)
    text_all = coerce_column(raw, "str").values
    text_all = text_all.where(text_all.notna() & (text_all.str.strip() != ""), None)
    filled_all = text_all.dropna()
    unique = len(filled_all) == len(text_all) and filled_all.is_unique
    sample_raw = raw.head(PROFILE_ROWS)
    text = text_all.head(PROFILE_ROWS)
    present = text.dropna()
    counts = filled_all.value_counts()
    prof = ColumnProfile(
        name=str(name),
        position=position,
        norm=norm_header(name),
        rows=len(raw),
        filled=len(filled_all),
        distinct=int(counts.size),
        unique=bool(unique),
        kind="empty",
        text=text_all,
    )
    if present.empty:
        return prof
    if counts.size <= 40:
        prof.values = [str(v) for v in counts.index]
    low = present.str.lower()
    is_obj_date = False
    if pd.api.types.is_datetime64_any_dtype(sample_raw.dtype):
        is_obj_date = True
    elif sample_raw.dtype == object:
        kind = pd.api.types.infer_dtype(sample_raw, skipna=True)
        is_obj_date = kind in ("datetime", "datetime64", "date")
    digits = present.str.fullmatch(r"\d+")
    if pd.api.types.is_bool_dtype(sample_raw.dtype) or (
        set(low) <= (TRUE_WORDS | FALSE_WORDS) and not set(low) <= {"0", "1"}
    ):
        prof.kind = "bool"
    elif is_obj_date:
        dates = pd.to_datetime(sample_raw.dropna(), errors="coerce")
        has_time = bool((dates.dropna() != dates.dropna().dt.normalize()).any())
        prof.kind = "datetime" if has_time else "date"
    elif digits.all() and present.str.len().eq(8).all():
        # 19970101: a compact date, or a number
        ok = pd.to_datetime(present, format="%Y%m%d", errors="coerce")
        if ok.notna().mean() >= 0.95:
            prof.kind, prof.formats = "date", ["%Y%m%d"]
        else:
            prof.kind, prof.integral = "int", True
    if prof.kind == "empty":
        num = coerce_column(sample_raw, "float")
        good = num.values.notna() & ~num.bad
        if good.sum() >= 0.95 * len(present):
            vals = num.values.dropna()
            prof.integral = bool((vals == vals.round()).all())
            prof.kind = "int" if prof.integral else "float"
            prof.max = float(vals.max()) if len(vals) else None
            prof.zero_padded = bool(
                (present.str.len() > 1).all() and present.str.match(r"0\d").mean() > 0.2
            )
        else:
            formats, share, ambiguous = _date_cover(present)
            if share >= 0.9:
                sample_dates = pd.Series(
                    pd.to_datetime(present.head(500), format=formats[0], errors="coerce")
                ).dropna()
                has_time = bool((sample_dates != sample_dates.dt.normalize()).any())
                prof.kind = "datetime" if has_time else "date"
                prof.formats, prof.ambiguous = formats, ambiguous
            else:
                prof.kind = "text"
    if prof.kind in ("text", "bool") and prof.values:
        vals = [v.strip().lower() for v in prof.values]
        best = None
        for vocab, words in _VOCAB.items():
            hits = [v for v, lv in zip(prof.values, vals, strict=True) if lv in words]
            if vocab == "status" and not any(v in _WON | _LOST for v in vals):
                continue
            if len(hits) >= max(2, 0.5 * len(vals)) and (best is None or len(hits) > len(best[1])):
                best = (vocab, hits)
        if best:
            prof.vocab, prof.vocab_hits = best
    if prof.kind == "text":
        sample = present.head(200)
        wordy = sample.str.contains(r"[a-z]") | sample.str.contains(_CJK)
        prof.name_like = bool(wordy.mean() >= 0.8 and sample.str.contains(r"\d").mean() <= 0.5)
    return prof


# --------------------------------------------------------------------------------------
# Scoring a source column as a canonical column
# --------------------------------------------------------------------------------------


def _name_match(h: str, syn: str) -> tuple[float, str]:
    """How well header ``h`` (normalised) says ``syn``: score and the reason."""
    if not h or not syn:
        return 0.0, ""
    if h == syn:
        return 1.0, "same word"
    compact_h, compact_s = h.replace(" ", ""), syn.replace(" ", "")
    if compact_h == compact_s:
        return 0.95, "same word"
    if _CJK.search(syn) or _CJK.search(h):
        if syn in compact_h:
            return 0.5 + 0.4 * len(compact_s) / len(compact_h), f"contains '{syn}'"
        return 0.0, ""
    ht, st = h.split(), syn.split()
    if len(st) <= len(ht) and any(ht[i : i + len(st)] == st for i in range(len(ht))):
        return 0.5 + 0.4 * len(compact_s) / len(compact_h), f"contains '{syn}'"
    if min(len(compact_h), len(compact_s)) >= 5:
        r = difflib.SequenceMatcher(None, compact_h, compact_s).ratio()
        if r >= 0.85:
            return 0.75 * r, f"spelled like '{syn}'"
    return 0.0, ""


def _rest_is_other(h: str, syn: str, others: set[str]) -> bool:
    """Does the rest of a compound header name another column? (订单金额 minus 订单 = 金额)."""
    rest = (
        h.replace(syn, " ").strip()
        if _CJK.search(h)
        else " ".join(w for w in h.split() if w not in syn.split())
    )
    rest = rest.replace(" ", "") if _CJK.search(rest) else rest
    return bool(rest) and rest in others


_OTHER_WORDS: dict[tuple[str, str], set[str]] = {}


def _others(table: str, column: str) -> set[str]:
    key = (table, column)
    if key not in _OTHER_WORDS:
        words: set[str] = set()
        for c in TABLES[table].column_names:
            if c != column:
                words.update(
                    w.replace(" ", "") if _CJK.search(w) else w for w in synonyms(table, c)
                )
        words.update(
            {"name", "名称", "姓名", "date", "日期", "amount", "金额"}
            - set(synonyms(table, column))
        )
        _OTHER_WORDS[key] = words
    return _OTHER_WORDS[key]


def _type_fit(ctype: str, column: str, p: ColumnProfile) -> tuple[float, str]:
    k = p.kind
    if ctype in ("date", "datetime"):
        if k in ("date", "datetime"):
            return 1.0, "dates" + (f" ({', '.join(p.formats)})" if p.formats else "")
        return 0.1, "not dates"
    if ctype in ("int", "float"):
        if k in ("int", "float"):
            if ctype == "int" and k == "float":
                return 0.3, "not whole numbers"
            return (0.6, "numbers with leading zeros") if p.zero_padded else (1.0, "numbers")
        if k == "bool" and ctype == "int":
            return 0.3, "true/false"
        return 0.1, "not numbers"
    if ctype == "bool":
        if k == "bool":
            return 1.0, "yes/no values"
        if k == "int" and p.values and set(p.values) <= {"0", "1"}:
            return 0.8, "0/1 values"
        return 0.2, "not yes/no values"
    # text columns
    if column.endswith("_id") or column in ("key", "unit_id"):
        if k == "float":
            return 0.3, "fractional numbers"
        if k in ("date", "datetime"):
            return 0.3, "dates"
        return 1.0, ""
    if k in ("int", "float") and column not in ("period", "name"):
        return 0.5, "numbers"
    if k in ("date", "datetime") and column != "period":
        return 0.4, "dates"
    return 1.0, ""


@dataclass
class Guess:
    """One canonical column of a draft source, and why."""

    column: str
    how: str  # columns, constants, derive
    value: object  # source column, constant, or expression
    score: float
    why: str

    @property
    def confidence(self) -> str:
        return "high" if self.score >= 0.85 else "medium" if self.score >= 0.65 else "low"


def score_column(table: str, column: str, p: ColumnProfile) -> tuple[float, str]:
    """Score (0..1) and reason for reading ``table.column`` from the source column ``p``."""
    if p.kind == "empty":
        return 0.0, ""
    t = TABLES[table]
    best, why = 0.0, ""
    for i, syn in enumerate(synonyms(table, column)):
        s, reason = _name_match(p.norm, syn)
        if s <= 0:
            continue
        if reason.startswith("contains") and _rest_is_other(p.norm, syn, _others(table, column)):
            s *= 0.75
        if reason == "same word":
            reason = "same name" if i == 0 else f"'{p.name}' is a usual header for {column}"
        if s > best:
            best, why = s, reason
    # A few shapes of header that name a column without being a synonym.
    if column == "quantity" and p.norm.startswith("count ") and best <= 0.75:
        best, why = 0.75, "a count of things"
    if p.norm == "id" and table in ENTITY_TABLES and column == t.key[0] and best < 0.75:
        best, why = 0.75, "a column named ID is usually the key"
    # Values can speak for the column.
    if p.vocab and column in _VOCAB_COLUMNS.get(p.vocab, {}):
        vs = _VOCAB_COLUMNS[p.vocab][column]
        vwhy = f"values look like {p.vocab}: {', '.join(_short(v) for v in p.vocab_hits[:4])}"
        if best > 0:
            best, why = min(1.0, max(best, vs) + 0.1), f"{why}; {vwhy}"
        else:
            best, why = vs, vwhy
    if best <= 0:
        return 0.0, ""
    fit, fwhy = _type_fit(t.column(column).type, column, p)
    best *= fit
    if fwhy:
        why = f"{why}; {fwhy}"
    return best, why


# --------------------------------------------------------------------------------------
# A draft source: one file read as one table
# --------------------------------------------------------------------------------------


@dataclass
class Proposal:
    file: SourceFile
    table: str
    guesses: dict[str, Guess] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    value_notes: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, tuple[Guess, str]] = field(default_factory=dict)  # left out, and why
    notes: dict[str, str] = field(default_factory=dict)  # extra words on a guess
    todo_hints: dict[str, str] = field(default_factory=dict)
    score: float = 0.0
    why: list[str] = field(default_factory=list)
    runner_up: tuple[str, float] | None = None
    file_pattern: str | None = None  # a glob when several files are read as one

    @property
    def t(self) -> Table:
        return TABLES[self.table]

    def source_columns(self) -> set[str]:
        return {str(g.value) for g in self.guesses.values() if g.how == "columns"}

    def missing(self) -> list[str]:
        return [c for c in self.t.required_columns if c not in self.guesses]


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _status_map(values: list[str]) -> tuple[dict[str, str], list[str]]:
    out, guessed = {}, []
    for v in values:
        lv = v.strip().lower()
        if lv in _WON or lv.startswith("closed won"):
            out[v] = "won"
        elif lv in _LOST or lv.startswith("closed lost"):
            out[v] = "lost"
        else:
            out[v] = "open"
            if lv not in _OPEN:
                guessed.append(v)
    return out, guessed


def propose(sf: SourceFile, table: str) -> Proposal:
    """Read ``sf`` as ``table``: the best source column for each canonical column."""
    t = TABLES[table]
    pr = Proposal(sf, table)
    cands = []
    for col in t.columns:
        for p in sf.profiles:
            s, why = score_column(table, col.name, p)
            if s >= MIN_SCORE:
                cands.append(
                    (
                        -s,
                        not col.required,
                        t.column_names.index(col.name),
                        p.position,
                        col.name,
                        p,
                        why,
                    )
                )
    cands.sort(key=lambda c: c[:4])
    used: set[str] = set()
    for neg, _, _, _, col, p, why in cands:
        if col in pr.guesses or p.name in used:
            continue
        pr.guesses[col] = Guess(col, "columns", p.name, -neg, why)
        used.add(p.name)
    g = pr.guesses
    # The unique date column left for a required date; the key column's uniqueness.
    for col in t.required_columns:
        if col in g or t.column(col).type not in ("date", "datetime"):
            continue
        free = [p for p in sf.profiles if p.name not in used and p.kind in ("date", "datetime")]
        if len(free) == 1:
            g[col] = Guess(col, "columns", free[0].name, 0.5, "the only date column left")
            used.add(free[0].name)
    key = t.key[0]
    if key in g and g[key].how == "columns":
        kp = sf.profile(str(g[key].value))
        if table in ENTITY_TABLES:
            if kp.unique:
                g[key].why += f"; unique in {_rows(kp.rows)} checked"
            else:
                g[key].score *= 0.6
                g[key].why += f"; repeats ({kp.distinct:,} distinct in {kp.rows:,} rows)"
    # Reuses: the stage column gives the status, an id column of names gives the name.
    if table in ("opportunities",):
        if "stage" in g and "status" not in g:
            sp = sf.profile(str(g["stage"].value))
            if sp.vocab == "status":
                g["status"] = Guess(
                    "status",
                    "columns",
                    sp.name,
                    g["stage"].score * 0.95,
                    "the stage column, read as open/won/lost",
                )
        if "status" in g and "stage" not in g:
            g["stage"] = Guess(
                "stage",
                "columns",
                g["status"].value,
                g["status"].score * 0.8,
                "no separate stage column: the status values are the stages",
            )
        if "status" in g:
            sp = sf.profile(str(g["status"].value))
            if sp.values and not set(sp.values) <= {"open", "won", "lost"}:
                pr.values["status"], guessed = _status_map(sp.values)
                note = "won/lost words read as won/lost, the other stages as open"
                if guessed:
                    note += f"; guessed open: {', '.join(_short(v) for v in guessed)}"
                pr.value_notes["status"] = note
            elif not sp.values:
                pr.todo_hints["status"] = f"{sp.name} has too many values for a value map"
    if "name" in t.column_names and "name" not in g and key in g and g[key].how == "columns":
        kp = sf.profile(str(g[key].value))
        if kp.name_like:
            g["name"] = Guess(
                "name",
                "columns",
                kp.name,
                0.7,
                f"no separate name column: the {key} values are names",
            )
    if sf.headerless and table == "orders":
        _positional_guesses(sf, pr, used)
    # Orders: line numbers and cost.
    if table == "orders":
        _orders_extras(sf, pr, used)
    if table == "opportunities" and "discount" in g:
        _discount_note(sf, pr)
    if table == "orders" and "discount" in g:
        _discount_note(sf, pr)
    # Formats of text dates.
    _score_table(pr)
    return pr


def _positional_guesses(sf: SourceFile, pr: Proposal, used: set[str]) -> None:
    """A file without headers: guess the usual order columns from their values alone."""
    g = pr.guesses

    def take(col, pred, why):
        if col in g:
            return
        for p in sf.profiles:
            if p.name not in used and pred(p):
                g[col] = Guess(col, "columns", p.name, 0.45, f"by its values only: {why}")
                used.add(p.name)
                return

    take("order_date", lambda p: p.kind in ("date", "datetime"), "the first date column")
    take("net_amount", lambda p: p.kind == "float", "the first column of amounts with cents")
    take(
        "customer_id",
        lambda p: not p.unique and (p.zero_padded or p.kind == "text"),
        "the first code column whose values repeat",
    )
    take(
        "quantity",
        lambda p: p.kind == "int" and not p.zero_padded and (p.max or 0) <= 1000,
        "small whole numbers",
    )


def _orders_extras(sf: SourceFile, pr: Proposal, used: set[str]) -> None:
    g = pr.guesses
    if "order_id" in g and "line_no" not in g and g["order_id"].how == "columns":
        op = sf.profile(str(g["order_id"].value))
        if op.unique:
            g["line_no"] = Guess(
                "line_no",
                "constants",
                1,
                0.9,
                f"every {op.name} appears once in the rows read: one line per order",
            )
        else:
            rowid = [
                p
                for p in sf.profiles
                if p.norm in _ROW_ID and p.unique and p.kind == "int" and p.name not in used
            ]
            if rowid:
                order = _q(rowid[0].name)
                why = f"numbers each order's lines in {rowid[0].name} order"
            else:
                srcs = [
                    str(g[c].value) for c in pr.t.column_names if c in g and g[c].how == "columns"
                ]
                order = ", ".join(_q(s) for s in dict.fromkeys(srcs))
                why = "numbers each order's lines; ordered by every mapped column, so rows that tie are identical"
            expr = f"row_number() OVER (PARTITION BY {_q(op.name)} ORDER BY {order})"
            g["line_no"] = Guess("line_no", "derive", expr, 0.8, why)
    elif "order_id" not in g and "line_no" not in g:
        pr.todo_hints["line_no"] = (
            "once order_id is set, e.g. derive: line_no: 'row_number() OVER "
            "(PARTITION BY <order column> ORDER BY <columns>)'"
        )
    if "order_id" not in g:
        hint = "no column looks like an order number"
        if "customer_id" in g and "order_date" in g:
            hint += (
                "; if an order is one customer on one day, derive it from customer and date "
                "(as salesnb/mappings/cdnow.yaml does)"
            )
        pr.todo_hints["order_id"] = hint
    if "quantity" not in g:
        pr.todo_hints["quantity"] = (
            "no quantity column; if each row is one unit: constants: {quantity: 1}"
        )
    if "cost" not in g and "net_amount" in g and g["net_amount"].how == "columns":
        profit = [
            p
            for p in sf.profiles
            if p.norm in _PROFIT and p.kind in ("int", "float") and p.name not in used
        ]
        if profit:
            expr = f"{_q(g['net_amount'].value)} - {_q(profit[0].name)}"
            g["cost"] = Guess(
                "cost",
                "derive",
                expr,
                0.7,
                f"{g['net_amount'].value} minus {profit[0].name}, so margin = {profit[0].name}",
            )


def _discount_note(sf: SourceFile, pr: Proposal) -> None:
    g = pr.guesses["discount"]
    if g.how != "columns":
        return
    p = sf.profile(str(g.value))
    if p.max is not None and 1 < p.max <= 100:
        pr.notes["discount"] = (
            f"values up to {p.max:g}: percentages? discount must be a fraction 0..1; "
            f"use derive: discount: '{_q(p.name)} / 100'"
        )
    if "折" in p.name:
        pr.notes["discount"] = (
            pr.notes.get("discount", "")
            + ("; " if "discount" in pr.notes else "")
            + "check: 折扣 0.9 often means 'pay 90%' (a 10% discount): then derive: discount: "
            + f"'1 - {_q(p.name)}'"
        )


def _score_table(pr: Proposal) -> None:
    t, sf, g = pr.t, pr.file, pr.guesses
    req = t.required_columns
    fit = sum(g[c].score * (0.8 if g[c].how != "columns" else 1.0) for c in req if c in g) / len(
        req
    )
    optional = [c for c in t.column_names if c not in req]
    opt = sum(g[c].score for c in optional if c in g) / max(len(optional), 1)
    used = {str(x.value) for x in g.values() if x.how == "columns"}
    used |= {
        p.name
        for p in sf.profiles
        if any(p.name in str(x.value) for x in g.values() if x.how == "derive")
    }
    filled = [p for p in sf.profiles if p.kind != "empty"] or sf.profiles
    used_share = len(used & {p.name for p in filled}) / max(len(filled), 1)
    name = _file_name_score(sf, pr.table)
    score = 0.45 * fit + 0.2 * used_share + 0.1 * min(1.0, 3 * opt) + 0.25 * name
    why = [f"{len([c for c in req if c in g])} of {len(req)} required columns found"]
    if name:
        why.insert(0, f"the name {sf.label!r} suggests {pr.table}")
    key = t.key[0]
    if pr.table in ENTITY_TABLES:
        if key not in g:
            score *= 0.4
            why.append(f"no {key}")
        elif g[key].how == "columns" and not sf.profile(str(g[key].value)).unique:
            score *= 0.5
            why.append(f"{key} repeats")
        elif not [c for c in g if c != key and not (c == "name" and g[c].value == g[key].value)]:
            score *= 0.5
            why.append(f"only {key} was found")
    pr.score = round(score, 3)
    pr.why = why


def _file_name_score(sf: SourceFile, table: str) -> float:
    best = 0.0
    for name in filter(None, [sf.path.stem, sf.sheet]):
        h = norm_header(name)
        for w in _TABLE_WORD_LISTS[table]:
            s, _ = _name_match(h, w)
            if s > 0:
                best = max(best, 0.8 + 0.2 * min(1.0, s))
    return min(best, 1.0)


# --------------------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------------------


@dataclass
class Todo:
    line: int
    table: str
    column: str
    source: str = ""  # the file (label or pattern) of the source the line belongs to


@dataclass
class Draft:
    """A drafted mapping: its YAML text and what is left to do."""

    folder: Path
    text: str
    active: list[Proposal]
    stubs: list[tuple[int, str]]  # (line, file label) of commented stubs
    todos: list[Todo]
    notes: list[str]
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, same data as)

    def proposal(self, table: str) -> Proposal:
        return next(p for p in self.active if p.table == table)

    def summary(self, where: str = "stdout") -> str:
        lines = [f"salesnb map: {self.folder} -> {where}"]
        for p in self.active:
            src = p.file_pattern or p.file.label
            todo = [t for t in self.todos if t.table == p.table and t.source == src]
            state = (
                "to finish: " + ", ".join(f"{t.column} (line {t.line})" for t in todo)
                if todo
                else "complete"
            )
            lines.append(f"  {p.table:<14} <- {src}: {len(p.guesses)} columns guessed, {state}")
        for label, same in self.duplicates:
            lines.append(f"  not read: {label} (same columns and rows as {same})")
        for line, label in self.stubs:
            lines.append(f"  not mapped: {label} (commented-out stub at line {line})")
        if not self.active:
            lines.append("  no file looked like a canonical table: finish a stub by hand")
        if any(t.line for t in self.todos):
            lines.append(
                "  fill every '# TODO <column>:' line; until then ingest stops with "
                "\"required column '<column>' of <table> is not mapped\""
            )
        return "\n".join(lines)


def _same_data(a: SourceFile, b: SourceFile) -> bool:
    if [p.norm for p in a.profiles] != [p.norm for p in b.profiles] or a.rows_read != b.rows_read:
        return False
    for pa_, pb in zip(a.profiles, b.profiles, strict=True):
        if pa_.kind == "text":
            x, y = set(pa_.text.head(1000).dropna()), set(pb.text.head(1000).dropna())
            return bool(x) and len(x & y) >= 0.9 * len(x)
    return True


def _glob(names: list[str], all_names: list[str]) -> str | None:
    parts = [re.split(r"(\d+)", n) for n in names]
    if len({len(p) for p in parts}) != 1:
        return None
    out = []
    for i, segs in enumerate(zip(*parts, strict=True)):
        if i % 2 == 0:
            if len(set(segs)) != 1:
                return None
            out.append(re.sub(r"([\[\]?*])", r"[\1]", segs[0]))
        else:
            out.append(segs[0] if len(set(segs)) == 1 else "*")
    pattern = re.sub(r"\*+", "*", "".join(out))
    hits = {n for n in all_names if fnmatch.fnmatchcase(n, pattern)}
    return pattern if hits == set(names) else None


def _text_values(pr: Proposal, column: str) -> pd.Series | None:
    g = pr.guesses.get(column)
    if g is None or g.how != "columns":
        return None
    s = pr.file.profile(str(g.value)).text.dropna()
    vm = pr.values.get(column)
    return s.map(lambda v: vm.get(v, v)) if vm else s


def _squash(v: str) -> str:
    return re.sub(r"[\W_]+", "", str(v).lower())


# References the model implies without declaring them as foreign keys (ingest does not
# check them, so the draft only warns).
_IMPLIED_REFERENCES = {"reps": {"manager_id": ("reps", "rep_id")}}


def _check_references(active: list[Proposal]) -> None:
    """Foreign keys across the drafted files: value maps for near misses, warnings otherwise."""
    for child in active:
        implied = _IMPLIED_REFERENCES.get(child.table, {})
        for col, (ptable, pcol) in {**child.t.foreign_keys, **implied}.items():
            vals = _text_values(child, col)
            if vals is None or vals.empty:
                continue
            keys: set[str] = set()
            for parent in (p for p in active if p.table == ptable):
                pv = _text_values(parent, pcol)
                if pv is not None:
                    keys |= set(pv)
            if not keys:
                continue
            counts = vals.value_counts()
            missing = [v for v in counts.index if v not in keys]
            if not missing:
                continue
            squashed: dict[str, list[str]] = {}
            for k in keys:
                squashed.setdefault(_squash(k), []).append(k)
            fixes = {}
            for m in missing:
                near = squashed.get(_squash(m), [])
                if len(near) == 1:
                    fixes[m] = near[0]
            if fixes:
                child.values.setdefault(col, {}).update(fixes)
                rows = int(counts[list(fixes)].sum())
                child.value_notes[col] = (
                    f"{len(fixes)} value(s) written differently from {ptable}.{pcol} "
                    f"({rows:,} rows read): mapped so the references resolve"
                )
            still = [m for m in missing if m not in fixes]
            if not still:
                continue
            bad_rows = int(counts[still].sum())
            share = bad_rows / max(int(counts.sum()), 1)
            g = child.guesses[col]
            where = f"{ptable}.{pcol}"
            if col in implied:
                child.notes[col] = (
                    f"{len(still):,} of its {len(counts):,} values are not {where} values "
                    f"(e.g. {_short(still[0])}): add them as rows of {ptable} or leave this out"
                )
            elif share >= 0.5 and not child.t.column(col).required:
                del child.guesses[col]
                child.dropped[col] = (
                    g,
                    f"{len(still):,} of its {len(counts):,} values are not {where} values "
                    f"(e.g. {_short(still[0])}): the reference would not resolve",
                )
            else:
                child.notes[col] = (
                    (child.notes.get(col, "") + "; ") if col in child.notes else ""
                ) + (
                    f"warning: {bad_rows:,} rows read have a value missing from {where} "
                    f"(e.g. {_short(still[0])}); ingest lists them in the quarantine table"
                )


def draft_mapping(folder, name: str | None = None) -> Draft:
    """Read ``folder`` and draft a mapping for it; see the module docstring."""
    folder = Path(folder)
    try:
        files, notes = read_folder(folder)
    finally:
        _close_workbooks()
    all_names = sorted(p.name for p in folder.iterdir() if p.is_file())
    best: list[Proposal] = []
    for sf in files:
        props = sorted(
            (propose(sf, t) for t in TABLES),
            key=lambda p: (-p.score, list(TABLES).index(p.table)),
        )
        top = props[0]
        if len(props) > 1:
            top.runner_up = (props[1].table, props[1].score)
        best.append(top)
    active: list[Proposal] = []
    stubs: list[tuple[Proposal, str]] = []
    for pr in sorted(best, key=lambda p: (-p.score, p.file.label)):
        sf = pr.file
        if sf.headerless:
            stubs.append((propose(sf, "orders"), "headerless"))
            continue
        if pr.score < ACTIVE_SCORE:
            stubs.append((pr, "weak"))
            continue
        same = [a for a in active if a.table == pr.table and _same_data(a.file, sf)]
        if same:
            stubs.append((pr, f"same:{same[0].file.label}"))
            continue
        active.append(pr)
    # Files with the same columns for the same table: one glob when the names allow it.
    merged: list[Proposal] = []
    for pr in active:
        twins = [
            m
            for m in merged
            if m.table == pr.table
            and m.file.sheet is None
            and pr.file.sheet is None
            and [p.norm for p in m.file.profiles] == [p.norm for p in pr.file.profiles]
        ]
        if twins:
            group = [twins[0].file.path.name, pr.file.path.name]
            if twins[0].file_pattern:
                group = [n for n in all_names if fnmatch.fnmatchcase(n, twins[0].file_pattern)] + [
                    pr.file.path.name
                ]
            pattern = _glob(sorted(set(group)), all_names)
            if pattern:
                twins[0].file_pattern = pattern
                continue
        merged.append(pr)
    active = sorted(merged, key=lambda p: (list(TABLES).index(p.table), p.file.label))
    _check_references(active)
    text, todos, stub_lines, duplicates = _render(
        folder, name or f"{folder.name}-draft", active, stubs, notes
    )
    # The draft must be YAML ingest can read, whatever the headers held.
    yaml.load(text, Loader=_Loader)
    return Draft(folder, text, active, stub_lines, todos, notes, duplicates)


# --------------------------------------------------------------------------------------
# Writing the YAML
# --------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[^\s#'\"\[\]{},&*!|>%@`?:\-][^#]*$")


def yaml_scalar(v) -> str:
    """``v`` as a YAML scalar that reads back as the same value (plain when safe).

    >>> yaml_scalar("Order ID"), yaml_scalar("Yes"), yaml_scalar("2024"), yaml_scalar("a: b")
    ('Order ID', '"Yes"', '"2024"', '"a: b"')
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v)
    if (
        _PLAIN.match(s)
        and ": " not in s
        and not s.endswith((":", " "))
        and yaml.safe_load(s) == s
        and yaml.load(s, Loader=_Loader) == s
    ):
        return s
    return json.dumps(s, ensure_ascii=False)


def _single_quoted(expr: str) -> str:
    return "'" + expr.replace("'", "''") + "'"


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int = 38) -> str:
    return s + " " * max(width - _width(s), 0)


def _comment_text(s: str) -> str:
    return " ".join(str(s).split())


class _Out:
    """Lines of YAML being written, numbered as they are added."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, line: str = "") -> int:
        self.lines.append(line.rstrip())
        return len(self.lines)

    def comment(self, text: str, indent: int = 0, width: int = 96) -> None:
        for ln in textwrap.wrap(_comment_text(text), width - indent - 2) or [""]:
            self.add(" " * indent + "# " + ln)


def _source_lines(
    pr: Proposal, indent: int, first_prefix: str = ""
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The YAML lines of one source, each with the column it leaves to do (TODO) or None."""
    out: list[tuple[str, str | None]] = []
    ind = " " * indent
    sf, t, g = pr.file, pr.t, pr.guesses

    def line(text: str, todo: str | None = None):
        out.append((text, todo))

    def pair(key: str, value: str, note: str = "", level: int = 0):
        body = ind + "  " * level + f"{key}: {value}"
        if note:
            body = _pad(body) + "  # " + _comment_text(note)
        line(body)

    file_value = pr.file_pattern or sf.path.name
    first = True

    def key_line(key, value, note=""):
        nonlocal first
        if first and first_prefix:
            body = ind[:-2] + first_prefix + f"{key}: {value}"
            if note:
                body = _pad(body) + "  # " + _comment_text(note)
            line(body)
        else:
            pair(key, value, note)
        first = False

    key_line(
        "file",
        yaml_scalar(file_value),
        f"{_rows(sf.rows_read)} read" + (" (the head of a large file)" if sf.truncated else "")
        if not pr.file_pattern
        else "files with the same columns, names differing only in digits",
    )
    if sf.sheet:
        pair("sheet", yaml_scalar(sf.sheet))
    if sf.header_row != 1:
        pair("header_row", str(sf.header_row), "the rows above it are titles")
    if sf.delimiter:
        pair("delimiter", sf.delimiter, "fields are separated by runs of blanks")
    sections = {"columns": [], "constants": [], "derive": []}
    for c in t.column_names:
        if c in g:
            sections[g[c].how].append(c)
    missing = pr.missing()
    pair("columns", "")
    for c in sections["columns"]:
        x = g[c]
        note = f"{x.why}; confidence {x.confidence} ({x.score:.2f})"
        if c in pr.notes:
            note += f"; {pr.notes[c]}"
        p = sf.profile(str(x.value))
        if p.ambiguous:
            note += f"; {p.ambiguous}: check date_formats"
        pair(c, yaml_scalar(x.value), note, 1)
    for c in missing:
        if c in sections["constants"] or c in sections["derive"]:
            continue
        hint = pr.todo_hints.get(c) or _todo_hint(pr, c)
        line(
            f"{ind}  # TODO {c}: <source column>   # required column '{c}' of {t.name} is not "
            f"mapped: {_comment_text(hint)} (or give it under constants: or derive:)",
            c,
        )
    for c, (x, reason) in pr.dropped.items():
        line(f"{ind}  # {c}: {yaml_scalar(x.value)}   # left out: {_comment_text(reason)}")
    for sec in ("constants", "derive"):
        if not sections[sec]:
            continue
        pair(sec, "")
        for c in sections[sec]:
            x = g[c]
            value = _single_quoted(str(x.value)) if sec == "derive" else yaml_scalar(x.value)
            pair(c, value, f"{x.why}; confidence {x.confidence} ({x.score:.2f})", 1)
    if pr.values:
        pair("values", "")
        for c, vm in pr.values.items():
            pair(c, "", pr.value_notes.get(c, ""), 1)
            for k, v in vm.items():
                pair(yaml_scalar(k), yaml_scalar(v), "", 2)
    fmts = {
        c: sf.profile(str(g[c].value)).formats
        for c in sections["columns"]
        if t.column(c).type in ("date", "datetime") and sf.profile(str(g[c].value)).formats
    }
    if fmts:
        pair("date_formats", "")
        for c, f in fmts.items():
            value = (
                yaml_scalar(f[0])
                if len(f) == 1
                else "[" + ", ".join(yaml_scalar(x) for x in f) + "]"
            )
            pair(c, value, "the date formats found in the rows read", 1)
    used = pr.source_columns() | {
        p.name
        for p in sf.profiles
        if any(_q(p.name) in str(x.value) for x in g.values() if x.how == "derive")
    }
    unused = [p.name for p in sf.profiles if p.name not in used]
    notes = []
    if unused:
        notes.append("not used: " + ", ".join(unused))
    return out, notes


def _todo_hint(pr: Proposal, column: str) -> str:
    """Why a required column is empty: the near misses, if any."""
    t = pr.t
    near = []
    for p in pr.file.profiles:
        best = 0.0
        for syn in synonyms(t.name, column):
            best = max(best, _name_match(p.norm, syn)[0])
        if best >= MIN_SCORE and p.name not in pr.source_columns():
            fit, why = _type_fit(t.column(column).type, column, p)
            near.append(
                f"'{p.name}' has the name, but its values are {why} (e.g. {p.examples(2)})"
                if fit < 1
                else f"'{p.name}'?"
            )
    if near:
        return "; ".join(near[:2])
    return "no column looks like it"


def _render(
    folder: Path, name: str, active: list[Proposal], stubs, notes
) -> tuple[str, list[Todo], list[tuple[int, str]], list[tuple[str, str]]]:
    out = _Out()
    out.comment(
        f"Draft mapping for {folder.name}/, written by `salesnb map` from the files' headers and "
        "values. Review it before use: every guess says why it was made and how sure it is "
        "(confidence high / medium / low)."
    )
    out.add("#")
    out.comment(
        "Lines '# TODO <column>:' are required columns nothing was found for. Until each is "
        "filled (a source column under columns:, a fixed value under constants:, or an SQL "
        'expression under derive:), `salesnb ingest --mapping` stops with "required column '
        "'<column>' of <table> is not mapped\", naming the column of the TODO line to finish."
    )
    out.comment(
        "The format is described in the docstring of salesnb/ingest.py; "
        "salesnb/mappings/*.yaml are worked examples."
    )
    out.add("#")
    read = ", ".join(
        f"{p.file_pattern} (files)"
        if p.file_pattern
        else f"{p.file.label} ({_rows(p.file.rows_read)})"
        for p in active
    )
    if read:
        out.comment(f"Mapped: {read}.")
    for n in notes:
        out.comment(n)
    out.add(f"name: {yaml_scalar(name)}")
    out.add(f"description: {yaml_scalar(f'draft mapping for {folder.name} (salesnb map)')}")
    out.add("")
    out.add("tables:")
    todos: list[Todo] = []
    if not active:
        out.add("  # TODO tables: no file looked like a canonical table; finish a stub below")
    by_table: dict[str, list[Proposal]] = {}
    for pr in active:
        by_table.setdefault(pr.table, []).append(pr)
    for table, prs in by_table.items():
        out.add(f"  {table}:")
        for k, pr in enumerate(prs):
            src = pr.file_pattern or pr.file.label
            head = f"{src} -> {table} (confidence {pr.score:.2f}): " + "; ".join(pr.why)
            if pr.runner_up:
                head += f"; next best: {pr.runner_up[0]} ({pr.runner_up[1]:.2f})"
            if len(prs) > 1:
                head = f"source {k + 1}: " + head
            indent = 6 if len(prs) > 1 else 4
            out.comment(head, 4)
            lines, tail = _source_lines(pr, indent, "- " if len(prs) > 1 else "")
            for text, todo in lines:
                n = out.add(text)
                if todo:
                    todos.append(Todo(n, table, todo, src))
            for tl in tail:
                out.comment(tl, indent)
    stub_lines: list[tuple[int, str]] = []
    duplicates: list[tuple[str, str]] = []
    active_tables = {p.table for p in active}
    if stubs:
        out.add("")
        out.add("  " + "# " + "-" * 86)
        out.comment("Files not mapped: each has a commented-out stub with its best guess.", 2)
        out.comment("To load one, uncomment its lines (delete '# ') and finish them.", 2)
    for pr, why in stubs:
        sf = pr.file
        out.add("")
        cols = ", ".join(p.name for p in sf.profiles)
        if why.startswith("same:"):
            out.add(
                f"  # {sf.label}: same columns and rows as {why[5:]} (mapped above), not read again"
            )
            duplicates.append((sf.label, why[5:]))
            continue
        if why == "headerless":
            first = out.add(
                f"  # {sf.label}: no header line; its first line is data: {' '.join(_short(x, 16) for x in sf.first_line)}"
            )
            out.comment(
                "ingest reads the first line of a file as its headers, so add a header line to "
                "a copy of this file (ingest never edits files), e.g.: "
                + (" " if sf.delimiter else ",").join(p.name for p in sf.profiles),
                2,
            )
            guesses = "; ".join(
                f"{p.name} (e.g. {p.examples(2)}): {_positional(pr, p)}" for p in sf.profiles
            )
            out.comment(f"By position: {guesses}.", 2)
        else:
            first = out.add(f"  # {sf.label} ({_rows(sf.rows_read)}; columns: {_short(cols, 200)})")
            out.comment(
                f"no canonical table fits well: best guess {pr.table} ({pr.score:.2f}: "
                + "; ".join(pr.why)
                + ")",
                2,
            )
            if {p.norm for p in sf.profiles} & {"returned", "return", "退货"} and any(
                p.norm in ("order id", "订单号", "订单编号") for p in sf.profiles
            ):
                out.comment(
                    "It looks like a list of returned orders: declare it under lookups: and "
                    "derive orders.returned from it (see salesnb/mappings/superstore.yaml).",
                    2,
                )
        if pr.table in active_tables:
            out.comment(
                f"{pr.table} is already mapped above: to read this file too, make {pr.table}: "
                "a list of sources (each starting with '- file:')",
                2,
            )
        stub_lines.append((first, sf.label))
        lines, tail = _source_lines(pr, 4)
        out.add(f"  # {pr.table}:")
        for text, _todo in lines:
            out.add("  # " + text[2:])
        for tl in tail:
            out.comment(tl, 4)
    return "\n".join(out.lines) + "\n", todos, stub_lines, duplicates


def _positional(pr: Proposal, p: ColumnProfile) -> str:
    hit = [c for c, g in pr.guesses.items() if g.how == "columns" and g.value == p.name]
    kind = {
        "int": "whole numbers",
        "float": "numbers",
        "date": "dates",
        "datetime": "timestamps",
    }.get(p.kind, p.kind)
    extra = ", zero-padded" if p.zero_padded else ""
    extra += f", {p.distinct:,} distinct" if p.kind in ("int", "text") else ""
    return f"{kind}{extra}" + (f" -> {hit[0]}?" if hit else "")
