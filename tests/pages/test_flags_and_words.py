"""Issue 15, point 7: words, not codes — scope badges, no process versions or event numbers for members
and staff — and anomaly flags a supervisor can review, filter and see the photos of."""
import re

from sqlalchemy import select

from workflow.models import AuditEvent, FlagReview
from workflow.services import claims as claim_service
from workflow.services import uploads as upload_service

from .conftest import photo_bytes


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))


def _reported(world, member=None):
    member = member or world.member
    claim = claim_service.start_claim(world.task().id, member)
    claim_service.fire(claim.id, "check_in", member, {"note": "n"})
    claim_service.fire(claim.id, "submit_report", member, {"summary": "s", "hours": 2, "households": 1})
    return claim


def test_scope_badges_in_words(world, browse):
    assert '<span class="badge">全区</span>' in browse("sup_district").get("/supervisor/").get_data(as_text=True)
    town = browse("sup_town").get("/supervisor/").get_data(as_text=True)
    assert f'<span class="badge">{world.town.name}</span>' in town and "town:" not in _text(town)
    unit = browse("sup_unit").get("/supervisor/").get_data(as_text=True)
    assert f'<span class="badge">{world.unit1.name}</span>' in unit and "unit:" not in _text(unit)
    english = browse("sup_district")
    english.client.set_cookie("lang", "en")
    assert '<span class="badge">The whole district</span>' in english.get("/supervisor/").get_data(as_text=True)


def test_members_and_staff_see_no_codes_supervisors_keep_them(world, browse):
    claim = _reported(world)
    codes = [r"\w+@\d+", r"\b[0-9a-f]{16,}\b", r"#\d+ *$"]
    for user, urls in {"member_a1": [f"/claims/{claim.id}", f"/tasks/{claim.task_id}", "/"],
                       "staff_a": [f"/claims/{claim.id}", f"/tasks/{claim.task_id}", "/staff/queue"]}.items():
        b = browse(user)
        for url in urls:
            text = _text(b.get(url).get_data(as_text=True))
            for code in codes:
                assert not re.search(code, text, flags=re.M), (user, url, code)
            assert "哈希" not in text, (user, url)
    audit = _text(browse("sup_district").get(f"/claims/{claim.id}").get_data(as_text=True))
    assert re.search(r"#3\s", audit) and "哈希全部一致" in audit  # the audit view keeps event numbers


def _duplicate_photo(app, world):
    """Two members' claims carrying the same photo: the duplicate_photo flag."""
    raw = photo_bytes((10, 120, 200))
    claims = []
    for member in (world.member, world.member2):
        claim = claim_service.start_claim(world.task().id, member)
        upload = upload_service.save_upload(member, raw, app.config["BAODAO_UPLOAD_DIR"])
        claim_service.fire(claim.id, "check_in", member, {"note": "n", "photos": [upload.id]})
        claims.append(claim)
    return claims


def test_a_supervisor_sees_the_photos_and_marks_a_flag_reviewed_with_a_note(app, world, session, browse):
    first, second = _duplicate_photo(app, world)
    b = browse("sup_district")
    page = b.get("/supervisor/anomalies").get_data(as_text=True)
    section = page.split('id="duplicate_photo"')[1].split("<h2")[0]
    thumbs = re.findall(r'<img src="/uploads/(\d+)/thumb"', section)
    assert len(thumbs) == 2 and "sha256" not in section
    assert b.get(f"/uploads/{thumbs[0]}/thumb").mimetype == "image/jpeg"
    key = re.search(r'name="kind" value="duplicate_photo"><input type="hidden" name="key" value="([0-9a-f]{64})"',
                    section).group(1)
    response = b.post("/supervisor/anomalies/review?next=/supervisor/anomalies",
                      {"kind": "duplicate_photo", "key": key, "note": "两人同一天一起入户，照片共用，属实。"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/supervisor/anomalies")
    page = b.get("/supervisor/anomalies").get_data(as_text=True)
    section = page.split('id="duplicate_photo"')[1].split("<h2")[0]
    assert f'data-flag="duplicate_photo:{key}"' in section and "已复核" in section
    assert "两人同一天一起入户，照片共用，属实。" in section and world.supervisor.name in section
    session.rollback()
    review = session.scalar(select(FlagReview))
    assert (review.kind, review.flag_key, review.reviewer_id) == ("duplicate_photo", key, world.supervisor.id)
    assert review.reviewed_at is not None
    logged = session.scalar(select(AuditEvent).where(AuditEvent.trigger == "review_flag"))
    assert logged.actor_id == world.supervisor.id and logged.payload["key"] == key
    # once only; a flag the caller cannot see (another town's supervisor) is not found
    again = b.post("/supervisor/anomalies/review", {"kind": "duplicate_photo", "key": key, "note": "x"},
                   follow_redirects=True)
    assert "已复核过" in again.get_data(as_text=True)
    other = browse("sup_town2")
    assert other.post("/supervisor/anomalies/review", {"kind": "quick_report", "key": str(first.id)}).status_code == 404
    assert session.scalar(select(FlagReview.id).where(FlagReview.kind == "quick_report")) is None
    # staff and members may not
    assert browse("staff_a").post("/supervisor/anomalies/review",
                                  {"kind": "duplicate_photo", "key": key}).status_code == 403


def test_flags_filter_by_date_and_town(world, browse):
    claim = _reported(world)  # reported within a minute: a quick_report flag, in the world's first town
    b = browse("sup_district")
    everything = b.get("/supervisor/anomalies").get_data(as_text=True)
    assert f'href="/claims/{claim.id}"' in everything
    other_town = b.get(f"/supervisor/anomalies?town={world.other_town.id}").get_data(as_text=True)
    assert f'href="/claims/{claim.id}"' not in other_town
    assert f'<option selected value="{world.other_town.id}">' in other_town or \
        f'value="{world.other_town.id}" selected' in other_town
    this_town = b.get(f"/supervisor/anomalies?town={world.town.id}").get_data(as_text=True)
    assert f'href="/claims/{claim.id}"' in this_town
    assert f'href="/claims/{claim.id}"' not in b.get("/supervisor/anomalies?end=2020-01-01").get_data(as_text=True)
    assert f'href="/claims/{claim.id}"' in b.get("/supervisor/anomalies?start=2020-01-01").get_data(as_text=True)
    bad = b.get("/supervisor/anomalies?start=nope")
    assert bad.status_code == 422 and "请按 2026-11-30 的格式填写。" in bad.get_data(as_text=True)


def test_a_dashboard_bar_opens_the_claims_behind_it(world, browse):
    reported = _reported(world)
    claimed = claim_service.start_claim(world.task(category="环境整治").id, world.member2)
    b = browse("sup_district")
    dashboard = b.get("/supervisor/").get_data(as_text=True)
    links = re.findall(r'<a href="(/supervisor/claims\?[^"]+)" class="bar-link"', dashboard)
    by_state = next(link for link in links if "state=reported" in link)
    assert f"/supervisor/claims?town={world.town.id}" in links and any("category=" in link for link in links)
    page = b.get(by_state.replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="/claims/{reported.id}"' in page and f'href="/claims/{claimed.id}"' not in page
    assert '<span class="badge">待核实</span>' in page  # the filter, in words
    by_town = b.get(f"/supervisor/claims?town={world.town.id}").get_data(as_text=True)
    assert f'href="/claims/{reported.id}"' in by_town and f'href="/claims/{claimed.id}"' in by_town
    assert f'href="/claims/{reported.id}"' not in b.get(f"/supervisor/claims?town={world.other_town.id}").get_data(
        as_text=True)
    by_category = b.get("/supervisor/claims?category=环境整治").get_data(as_text=True)
    assert f'href="/claims/{claimed.id}"' in by_category and f'href="/claims/{reported.id}"' not in by_category
    # scope: another town's supervisor sees none of them; a bad number is the 400 page
    other = browse("sup_town2").get(f"/supervisor/claims?town={world.town.id}").get_data(as_text=True)
    assert "/claims/" not in other.split("<main")[1].split("</main>")[0].replace("/supervisor/claims", "")
    assert b.get("/supervisor/claims?town=abc").status_code == 400
    assert browse("staff_a").get("/supervisor/claims").status_code == 403
