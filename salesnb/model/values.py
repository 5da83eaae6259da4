"""How raw values are read: the date formats tried, the words meaning empty, true or false,
and the shapes of numbers with thousands separators or currency marks."""

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d %b %Y",
    "%b %d %Y",
    "%d-%b-%Y",
    "%Y年%m月%d日",
)

# Words that mean "no value" in numeric, date and bool columns. Text columns only treat an
# empty cell as missing ("NA" is Namibia in a country column).
NULL_WORDS = {"", "na", "n/a", "nan", "null", "none", "nat", "#n/a", "-", "--"}
TRUE_WORDS = {"true", "t", "yes", "y", "1", "x", "是", "ja", "oui", "si", "sí"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "nein", "non"}

_THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
_CURRENCY_RE = r"^[$€£¥₹]|^(USD|EUR|GBP|CNY|RMB)|(USD|EUR|GBP|CNY|RMB)$|[$€£¥₹]$"
