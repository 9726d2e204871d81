"""The API answers people in their language: Chinese by default, English for `Accept-Language: en`.
The machine code (`error`) and the field names never change; `message` and the field messages do."""
from datetime import timedelta

from api_helpers import assert_error

from workflow.clock import utcnow

EN = {"Accept-Language": "en"}


def both(api, method, path, user, **kw):
    """The same request in Chinese (no header) and in English."""
    zh = api.request(method, path, user, **kw)
    en = api.request(method, path, user, headers=EN, **kw)
    return zh, en


def test_a_validation_error_in_chinese_by_default_and_in_english_on_request(api, world):
    zh, en = both(api, "POST", "/api/v1/tasks", world.staff, json={"title": "", "capacity": "x"})
    zh, en = assert_error(zh, 422, "invalid_input"), assert_error(en, 422, "invalid_input")
    assert zh["message"] == "部分内容填写有误，请按各项的提示修改。"
    assert en["message"] == "Some of the input is not valid: see the message by each field."
    assert set(zh["errors"]["json"]) == set(en["errors"]["json"])  # the same fields, named the same
    # marshmallow's own messages, translated
    assert zh["errors"]["json"]["capacity"] == ["请输入数字。"]
    assert en["errors"]["json"]["capacity"] == ["Enter a number."]
    assert zh["errors"]["json"]["category"] == ["此项为必填项。"]
    assert en["errors"]["json"]["category"] == ["This field is required."]


def test_the_language_header_is_answered(api, world):
    zh = api.get("/api/v1/claims/999999", world.member)
    en = api.get("/api/v1/claims/999999", world.member, headers=EN)
    assert zh.headers["Content-Language"] == "zh-CN" and en.headers["Content-Language"] == "en"
    # a preference list picks the best one; an unknown language is Chinese
    prefers_en = api.get("/api/v1/claims/999999", world.member,
                         headers={"Accept-Language": "fr;q=1, en-US;q=0.8, zh;q=0.5"})
    assert prefers_en.headers["Content-Language"] == "en"
    assert api.get("/api/v1/claims/999999", world.member,
                   headers={"Accept-Language": "fr"}).headers["Content-Language"] == "zh-CN"
    assert assert_error(zh, 404, "not_found")["message"] == "未找到，或您无权查看。"
    assert assert_error(en, 404, "not_found")["message"] == "Not found, or not yours to see."


def test_a_domain_error_keeps_its_code_and_speaks_the_callers_language(api, world):
    task = world.task(capacity=1)
    assert api.post(f"/api/v1/tasks/{task.id}/claims", world.member).status_code == 201
    zh, en = both(api, "POST", f"/api/v1/tasks/{task.id}/claims", world.member2)
    zh, en = assert_error(zh, 409, "transition_not_allowed"), assert_error(en, 409, "transition_not_allowed")
    assert zh["reason"] == en["reason"] == "free_slot"
    assert zh["message"] == "名额已满。" or "已满" in zh["message"], zh["message"]
    assert en["message"] == "No free place: the task is full."
    # the deadline of a new task, checked by the service (time_bounds.check_deadline)
    past = (utcnow() - timedelta(days=1)).isoformat()
    data = {"title": "t", "category": "微心愿", "capacity": 1, "points": 1, "deadline": past, "address": "a"}
    zh, en = both(api, "POST", "/api/v1/tasks", world.staff, json=data)
    zh, en = assert_error(zh, 422, "invalid_input"), assert_error(en, 422, "invalid_input")
    assert zh["errors"]["json"]["deadline"] == ["截止时间必须晚于现在。"]
    assert en["errors"]["json"]["deadline"] == ["The deadline must be in the future."]
    assert zh["message"] == "截止时间必须晚于现在。" and en["message"] == "The deadline must be in the future."


def test_upload_errors_in_plain_words(api, world):
    zh = assert_error(api.upload(world.member, b"GIF89a not really"), 422)
    assert zh["errors"]["files"]["file"] == ["无法识别的图片，请换一张照片。"]
    assert "UnidentifiedImageError" not in str(zh)
    en = assert_error(api.upload(world.member, b"GIF89a not really", headers=EN), 422)
    assert en["errors"]["files"]["file"] == ["This file could not be read as a photo; choose another."]
    big = assert_error(api.upload(world.member, b"\xff" * (10 * 1024 * 1024 + 10)), 413)
    assert big["errors"]["files"]["file"] == ["每张照片不能超过 10 MB。"] and big["message"] == "照片太大。"


def test_a_bad_month_names_the_field_in_words(api, world):
    zh, en = both(api, "GET", "/api/v1/units/1/feedback?month=2026-13", world.admin)
    zh, en = assert_error(zh, 422), assert_error(en, 422)
    assert "month" in zh["errors"]["query"] and "month" in en["errors"]["query"]
    assert "YYYY" not in str(zh) and "YYYY" not in str(en)
