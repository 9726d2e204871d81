"""Forms made from the definitions, in Chromium at 390×844: a photo chosen in a form is uploaded
at once and stays attached when the server sends the form back with an error; the definition's
primary action leads, and its confirmation is asked once."""
import io
import os
import re

from PIL import Image


def test_a_photo_stays_attached_after_an_error_and_what_was_typed_stays(login, big_photo_file):
    member = login("member1")
    member.goto("/?q=垃圾分类入户宣传")  # found by search (it may sit on the list's second page)
    member.click("article.task a:text('垃圾分类入户宣传')")
    member.click("button:has-text('认领')")
    member.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_url = member.url
    member.click("a.button:has-text('入户签到')")
    member.fill("textarea[name=note]", "入户讲解垃圾分类，发放宣传册。")
    # a styled picker (album or camera: no `capture`), a 44 px tap target
    assert member.locator("input[type=file][name=photos]").get_attribute("capture") is None
    assert member.locator("label.photo-pick").bounding_box()["height"] >= 44
    assert os.path.getsize(big_photo_file) > 1_500_000
    member.set_input_files("input[type=file][name=photos]", big_photo_file)
    member.wait_for_selector(".photo-list li img")  # a preview at once …
    member.wait_for_selector(".photo-list input[name=photos]", state="attached")  # … uploaded as soon as chosen
    assert member.locator(".photo-list progress").count() == 0  # its progress bar gone when done
    # made smaller on the phone before it was sent (the canvas), then stored
    upload_id = member.locator(".photo-list input[name=photos]").get_attribute("value")
    stored = Image.open(io.BytesIO(member.request.get(f"/uploads/{upload_id}").body()))
    assert max(stored.size) == 2560 and stored.size == (2560, 1920)
    assert member.locator(".photo-list input[name=photos]").count() == 1
    # a visit "in 2030" passes the browser's checks and is refused by the service
    member.fill("input[name=time]", "2030-01-01T09:00")
    member.click("form.stack button[type=submit]")
    member.wait_for_load_state()
    assert "时间须在认领之后、且不晚于现在" in member.inner_text(".errors")
    assert member.locator(".photo-list li img").count() == 1  # the photo is still attached
    assert "发放宣传册" in member.input_value("textarea[name=note]")
    member.fill("input[name=time]", "")
    member.click("form.stack button[type=submit]")
    member.wait_for_url(claim_url)
    assert member.locator(".photos img").count() == 1
    # after a check-in the main action is the report, and withdrawing asks exactly once
    assert member.locator("a.button:not(.secondary):not(.danger)").first.inner_text() == "提交报告"
    asked = []
    member.click("summary:has-text('撤回')")  # folded until wanted; says what follows
    assert "撤回后名额将让给其他党员" in member.inner_text("details.danger-action")
    member.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    member.click("button:has-text('撤回')")
    assert len(asked) == 1 and "撤回后名额将让给其他党员" in asked[0]
    assert member.url == claim_url  # dismissed: nothing happened
    # accepted: withdrawn (the shared demo server's task is free again for the other tests)
    member.once("dialog", lambda dialog: dialog.accept())
    member.click("button:has-text('撤回')")
    member.wait_for_load_state()
    assert "认领已撤回" in member.inner_text(".flash")
