"""workflow/messages.py: every message the services and marshmallow give a person has plain words in
Chinese and English; codes stay as they are. No Flask, no database."""
import ast
import re
from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from workflow import messages

ROOT = Path(__file__).resolve().parent.parent
FALLBACK_ZH = messages.gettext(messages.FIELD_FALLBACK, locale="zh_CN")


def _example(value) -> str:
    """What a formatted value stands for: a date where the format says so, else a number."""
    spec = ast.unparse(value.format_spec) if value.format_spec is not None else ""
    return "2000-01-01" if "%Y" in spec else "10"


def _field_literals():
    """Every literal string a service puts in an `errors={field: ["…"]}` of a domain error."""
    found = set()
    for path in (ROOT / "workflow").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "errors" and isinstance(node.value, ast.Dict):
                for value in node.value.values:
                    for item in getattr(value, "elts", []):
                        if isinstance(item, ast.Constant) and isinstance(item.value, str):
                            found.add((path.name, item.value))
                        elif isinstance(item, ast.JoinedStr):  # f"At most {n} MB.": try it with a number
                            text = "".join(v.value if isinstance(v, ast.Constant) else _example(v) for v in item.values)
                            found.add((path.name, text))
    return sorted(found)


@pytest.mark.parametrize("where,text", _field_literals())
def test_every_field_message_of_the_services_has_chinese_words(where, text):
    if text in ("claims or events", "Not an admin.") or text.startswith("Required for"):
        pytest.skip("not shown to a person as it is (an internal choice or a template with a category)")
    zh = messages.field_message(text, "zh_CN")
    assert zh != FALLBACK_ZH and zh != text and re.search(r"[\u4e00-\u9fff]", zh), (where, text, zh)
    assert messages.field_message(text, "en")  # English: plain words or the phrase itself


class _Sample(Schema):
    n = fields.Integer(required=True)
    hours = fields.Float(validate=validate.Range(min=0, max=24))
    title = fields.String(validate=validate.Length(max=5))
    kind = fields.String(validate=validate.OneOf(["a", "b"]))
    when = fields.DateTime()


def test_marshmallows_own_messages_in_both_languages():
    try:
        _Sample().load({"hours": 30, "title": "toolong", "kind": "c", "when": "x", "extra": 1})
    except ValidationError as exc:
        errors = exc.normalized_messages()
    zh, en = messages.field_messages(errors, "zh_CN"), messages.field_messages(errors, "en")
    assert set(zh) == set(en) == set(errors)  # field names never change
    assert zh["n"] == ["此项为必填项。"] and en["n"] == ["This field is required."]
    assert en["hours"] == ["Enter a number from 0 to 24."] and "0" in zh["hours"][0] and "24" in zh["hours"][0]
    assert en["title"] == ["At most 5 characters."] and en["kind"] == ["Choose one of the options."]
    assert en["when"] == ["Enter a valid date and time."] and en["extra"] == ["This form does not take this field."]
    for texts in zh.values():
        assert all(re.search(r"[\u4e00-\u9fff]", t) for t in texts), zh


def test_an_unknown_phrase_is_never_english_on_a_chinese_page():
    assert messages.field_message("frobnicated beyond repair", "zh_CN") == FALLBACK_ZH == "请检查此项。"
    assert messages.field_message("frobnicated beyond repair", "en") == "frobnicated beyond repair"
    assert messages.error_message("conflict", "grid 3 has 2 members; move them", "zh_CN") == "与已保存的内容冲突。"
    assert messages.error_message("no_such_code", "whatever", "zh_CN") == "请求未能执行。"


def test_import_lines_are_numbered_in_words():
    assert messages.field_message("line 3: role must be one of member, staff, not 'boss'", "zh_CN") == (
        "第 3 行：角色须为 member（党员）、staff（社区工作人员）、supervisor（督导）、liaison（单位联络员）或 admin（管理员），"
        "'boss' 不在其中。")
    assert messages.field_message("line 4: unknown community code '123'", "en") == "Line 4: No community has the code '123'."


def test_a_guards_refusal_keeps_the_place_it_names():
    text = "the unit already has a pairing with 东升社区 (pairing 7, active)"
    assert messages.error_message("transition_not_allowed", text, "zh_CN", reason="one_live_pairing") == (
        "本单位已与东升社区结对（或结对申请正在等待确认）。")
    assert messages.refusal("free_slot", "no free slot: the task is full", "en") == "No free place: the task is full."
