"""Reading a user-import file: CSV or XLSX, Chinese or English headers (services/users.py imports).

- XLSX (a zip: `PK\\x03\\x04`, or a name ending .xlsx) is read with openpyxl in read-only mode, the
  first sheet; numbers that are whole (a community code Excel turned into a number) become digits.
- CSV: UTF-8 first (with or without BOM); otherwise charset-normalizer says what it is, and when
  it names a Chinese encoding (GB2312, GBK, GB18030, HZ) among its candidates — a short Chinese
  file is often taken for Korean cp949 first — the file is read as GB18030, the superset of them
  all, so a character outside GBK still reads. Comma-, semicolon- or tab-separated (Excel's
  "Unicode text" is UTF-16 with tabs).
- The header names the columns, in any order, each in English or Chinese (HEADERS); the seven
  `username,name,role,unit,community,scope,password` must all be there, `email` may be.
- Empty lines are skipped; line numbers are the file's (the header is line 1), so an error names
  the line a person sees in Excel.

Problems raise users.ImportErrors (line 0: the file as a whole; line 1: the header).
"""
import csv
import io
import zipfile


MAX_LINES = 50_000  # a district's people in one file, with room; beyond, split it
MAX_BYTES = 20 * 1024 * 1024

REQUIRED = ("username", "name", "role", "unit", "community", "scope", "password")
OPTIONAL = ("email",)
HEADERS = {
    "username": ("username", "用户名", "账号", "帐号"),
    "name": ("name", "姓名", "名字"),
    "role": ("role", "角色"),
    "unit": ("unit", "单位", "所在单位"),
    "community": ("community", "社区", "社区/村", "社区（村）", "社区(村)"),
    "scope": ("scope", "范围", "督导范围"),
    "password": ("password", "密码", "初始密码"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "电子邮件"),
}
CHINESE_HEADER = ("用户名", "姓名", "角色", "单位", "社区", "范围", "密码", "邮箱")
ENGLISH_HEADER = (*REQUIRED, *OPTIONAL)
_BY_NAME = {name.lower(): key for key, names in HEADERS.items() for name in names}
CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}


def _fail(line: int, field: str, code: str, message: str, **params):
    from .users import ImportErrors, RowProblem
    raise ImportErrors([RowProblem(line, field, code, message, tuple(sorted(params.items())))])


def is_xlsx(data: bytes, filename: str | None = None) -> bool:
    return data[:4] == b"PK\x03\x04" or (filename or "").lower().endswith(".xlsx")


def decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (BOM or not) first, else what charset-normalizer detects
    (a Chinese encoding read as GB18030)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # (only an import of a file not in UTF-8 needs it)

    matches = from_bytes(data[:200_000])
    names = [m.encoding.lower().replace("-", "_") for m in matches]
    # A Chinese encoding among the candidates wins: a short Chinese file is often taken for Korean
    # (cp949) first, whose byte ranges GBK's overlap. GB18030 is the superset of GB2312 and GBK.
    encoding = "gb18030" if any(n in CHINESE_ENCODINGS for n in names) else (names[0] if names else "")
    if encoding:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            pass
    try:  # detection had no idea (a short file): Excel in China saves GBK
        return data.decode("gb18030")
    except UnicodeDecodeError:
        _fail(0, "", "encoding_unknown", "the file's character encoding is not recognised: save it as CSV UTF-8 "
              "or as an Excel workbook (.xlsx)")


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, record = [], 0
    try:
        for cells in reader:
            record += 1
            if record > MAX_LINES + 1:
                _fail(0, "", "too_many_lines", f"at most {MAX_LINES} lines in one file", limit=MAX_LINES)
            rows.append((record, cells))
    except csv.Error as exc:
        _fail(record + 1, "", "csv_malformed", f"not readable as CSV ({exc})")
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        _fail(0, "", "xlsx_unreadable", f"not a readable Excel workbook (.xlsx): {type(exc).__name__}")
    try:
        sheet = book.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_LINES + 1:
                _fail(0, "", "too_many_lines", f"at most {MAX_LINES} lines in one file", limit=MAX_LINES)
            rows.append((number, [_cell(v) for v in values]))
        return rows
    finally:
        book.close()


def read(data, *, filename: str | None = None) -> list[tuple[int, dict]]:
    """The rows of an import file as (line number, {column: text}), empty lines left out; the
    header checked. `data`: the file's bytes, or CSV text."""
    if isinstance(data, str):
        rows = _csv_rows(data.lstrip("\ufeff"))
    else:
        if len(data) > MAX_BYTES:
            _fail(0, "", "too_large", f"the file is larger than {MAX_BYTES // 1024 // 1024} MB",
                  limit=MAX_BYTES // 1024 // 1024)
        rows = _xlsx_rows(data) if is_xlsx(data, filename) else _csv_rows(decode(data))
    rows = [(line, cells) for line, cells in rows if any((c or "").strip() for c in cells)]
    if not rows:
        _fail(1, "", "header_missing", "the file is empty: the first line must be the header")
    line, header = rows[0]
    columns = _columns(line, header)
    out = []
    for line, cells in rows[1:]:
        cells = [c if c is not None else "" for c in cells]
        while len(cells) > len(columns) and not cells[-1].strip():
            cells.pop()  # trailing empty cells (Excel writes them)
        if len(cells) != len(columns):
            out.append((line, {"__columns__": (len(cells), len(columns))}))
            continue
        out.append((line, {key: value.strip() for key, value in zip(columns, cells) if key is not None}))
    return out


def _columns(line: int, header: list[str]) -> list[str]:
    keys, unknown = [], []
    for name in header:
        text = (name or "").strip().lstrip("\ufeff")
        key = _BY_NAME.get(text.lower())
        if key is None and not text:
            keys.append(None)  # an empty column: allowed when its cells are empty
            continue
        if key is None:
            unknown.append(text)
        keys.append(key)
    while keys and keys[-1] is None:
        keys.pop()
    missing = [k for k in REQUIRED if k not in keys]
    twice = sorted({k for k in keys if k is not None and keys.count(k) > 1})
    if unknown or missing or twice:
        _fail(line, "", "header_invalid",
              f"the header must name the columns {','.join(REQUIRED)} (optionally email), in English or as "
              f"{','.join(CHINESE_HEADER[:7])}" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
              + (f"; missing: {', '.join(missing)}" if missing else "")
              + (f"; twice: {', '.join(twice)}" if twice else ""),
              unknown=", ".join(unknown), missing=", ".join(missing), twice=", ".join(twice))
    return keys


def example_rows(english: bool) -> list[list[str]]:
    """An example of each kind of line (a member, community staff, a supervisor of a town)."""
    if english:
        return [["zhangsan", "张三", "member", "区委组织部", "东升社区", "", ""],
                ["lisi", "李四", "staff", "", "凤城街道/东升社区", "", ""],
                ["wangwu", "王五", "supervisor", "", "", "凤城街道", ""]]
    return [["zhangsan", "张三", "党员", "区委组织部", "东升社区", "", ""],
            ["lisi", "李四", "社区工作人员", "", "凤城街道/东升社区", "", ""],
            ["wangwu", "王五", "督导", "", "", "凤城街道", ""]]


def template(fmt: str, *, english: bool = False) -> bytes:
    """The file to fill in: the header (Chinese, or English) and example lines. CSV with a BOM, so
    Excel opens it as UTF-8; or XLSX (XlsxWriter), its code columns as text."""
    header = list(REQUIRED) + ["email"] if english else list(CHINESE_HEADER)
    rows = [row + [""] for row in example_rows(english)]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("users" if english else "用户")
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    sheet.write_row(0, 0, header, bold)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            sheet.write_string(number, column, value, text)
    sheet.set_column(0, len(header) - 1, 16, text)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
