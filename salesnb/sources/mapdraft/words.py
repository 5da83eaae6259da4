"""The words a draft mapping recognises: header words per canonical column (English and
Chinese), table words for file and sheet names, and value sets that say what a column is.

Extend these lists with a department's own header words; :func:`norm_header` and
:func:`synonyms` are how a header and the words are compared.
"""

from __future__ import annotations

import re

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
    "forecast_calls": "forecast call|forecast calls|forecast|forecasts|commit|commits|预测",
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
