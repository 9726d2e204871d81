"""The service record and certificates anyone can verify (issue 15, both databases):
the record by year and month; a certificate's signed statement and its event on the member's
chain; the PDF's text (pdftotext); the public /verify page for a genuine, altered, unknown and
mistyped code; verify-chain covering certificates."""
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from tests.pages.conftest import Browser, browse  # noqa: F401  (the fixture)
from workflow import audit
from workflow.checkpoint_signing import load_or_create_key
from workflow.clock import utcnow
from workflow.errors import Forbidden, InvalidInput
from workflow.models import AuditEvent, Certificate
from workflow.services import certificates, service_record
from workflow.services import claims as claim_service


def _verified(world, *, title="为独居老人购买取暖用品", hours=2.5, member=None):
    member = member or world.member
    task = world.task(title=title, points=10)
    claim = claim_service.start_claim(task.id, member)
    claim_service.fire(claim.id, "check_in", member, {"note": "走访"})
    claim_service.fire(claim.id, "submit_report", member, {"summary": "完成", "hours": hours, "households": 1})
    claim_service.fire(claim.id, "approve", world.staff, {})
    return claim.id


def _this_month() -> date:
    return (utcnow() + certificates.BEIJING).date()  # the feedback month is the district's


def _issue(app, member, first=None, last=None):
    return certificates.issue(member, first_month=first or _this_month(), last_month=last or _this_month(),
                              district="莱芜区", key_path=app.config["BAODAO_CHECKPOINT_KEY"])


def _public(app):
    return load_or_create_key(app.config["BAODAO_CHECKPOINT_KEY"]).public_key()


def test_the_record_adds_up_by_month_and_year(world, session):
    _verified(world, hours=2.5)
    _verified(world, title="清理楼道杂物", hours=1)
    found = service_record.record(session, world.member.id)
    month = _this_month().strftime("%Y-%m")
    assert [y.key for y in found.years] == [month[:4]] and [m.key for m in found.years[0].months] == [month]
    assert (found.total.hours, found.total.services, found.total.points) == (3.5, 2, 20)
    assert service_record.record(session, world.member2.id).total.services == 0


def test_a_certificate_is_signed_recorded_on_the_members_chain_and_verifies(world, app, session):
    _verified(world, hours=2.5)
    _verified(world, title="清理楼道杂物", hours=1)
    made = _issue(app, world.member)
    s = made.statement
    assert (s["name"], s["unit"], s["district"], s["hours"], s["services"]) == ("member_a1", "区委组织部", "莱芜区", 3.5, 2)
    assert certificates.normalise_code(made.code) == made.code
    event = session.execute(select(AuditEvent).where(AuditEvent.subject_type == "member",
                                                     AuditEvent.subject_id == world.member.id)).scalar_one()
    assert event.trigger == "issue_certificate" and event.payload["certificate"] == made.code
    assert event.payload["statement_sha256"] == certificates.statement_digest(s)
    assert audit.verify(session).ok and audit.verify(session, subject=f"member:{world.member.id}").ok

    verdict = certificates.verify(session, made.code, _public(app))
    assert verdict.status == "genuine" and (verdict.name, verdict.hours) == ("member_a1", 3.5)
    # typed by hand: lower case, dashes, O for 0 and l for 1 still find it
    typed = "-".join(made.code[i:i + 4] for i in range(0, 13, 4)).lower().replace("0", "o").replace("1", "l")
    assert certificates.verify(session, typed, _public(app)).status == "genuine"
    # a second certificate is the chain's second event
    _issue(app, world.member)
    assert audit.verify(session, subject=f"member:{world.member.id}").checked == 2


def test_an_altered_certificate_an_unknown_and_a_mistyped_code(world, app, session):
    _verified(world)
    made = _issue(app, world.member)
    wrong = made.code[:-1] + ("0" if made.code[-1] != "0" else "1")
    assert certificates.verify(session, wrong, _public(app)).status == "malformed"
    assert certificates.verify(session, "ABC", _public(app)).status == "malformed"
    body = "0" * 12
    unknown = body + certificates._check_char(body)
    assert certificates.verify(session, unknown, _public(app)).status == "unknown"

    # someone with database access raises the hours: the row no longer agrees with what was signed
    session.execute(text("UPDATE certificates SET hours = 99 WHERE id = :id"), {"id": made.id})
    session.commit()
    session.expire_all()
    assert certificates.verify(session, made.code, _public(app)).status == "altered"
    # … and rewrites the statement too: the signature fails, and verify-chain names it
    statement = dict(made.statement, hours=99)
    session.execute(Certificate.__table__.update().where(Certificate.id == made.id).values(statement=statement))
    session.commit()
    session.expire_all()
    assert certificates.verify(session, made.code, _public(app)).status == "altered"
    result = audit.verify(session)
    assert not result.ok and any(p.subject == f"certificate:{made.id}" for p in result.problems)


def test_a_certificate_signed_by_another_key_is_not_genuine(world, app, session, tmp_path):
    _verified(world)
    made = _issue(app, world.member)
    other = load_or_create_key(tmp_path / "other.pem").public_key()
    assert certificates.verify(session, made.code, other).status == "altered"


def test_issuing_needs_service_in_the_period_and_a_member(world, app):
    with pytest.raises(InvalidInput):
        _issue(app, world.member)  # nothing verified yet
    _verified(world)
    later = (_this_month().replace(day=1) + timedelta(days=40)).replace(day=1)
    with pytest.raises(InvalidInput):
        _issue(app, world.member, first=_this_month(), last=later)  # the future
    with pytest.raises(InvalidInput):
        _issue(app, world.member, first=_this_month(), last=_this_month().replace(year=2020))  # backwards
    with pytest.raises(Forbidden):
        _issue(app, world.staff)


def test_the_pages_the_pdf_text_and_the_public_verify_page(world, app, session, browse):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run scripts/ensure-pdftotext.sh (make test does)")
    _verified(world, hours=2.5)
    member = browse("member_a1")
    page = member.get("/me/record").get_data(as_text=True)
    assert "我的服务记录" in page and 'id="record-hours">2.5<' in page and "为独居老人购买取暖用品" in page
    month = _this_month().strftime("%Y-%m")
    response = member.post("/me/certificates", {"first": month, "last": month})
    assert response.status_code == 302
    session.rollback()
    made = session.scalar(select(Certificate).where(Certificate.member_id == world.member.id))
    page = member.get("/me/record").get_data(as_text=True)
    assert f"/me/certificates/{made.code}.pdf" in page

    pdf = member.get(f"/me/certificates/{made.code}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                           check=True).stdout.decode("utf-8")
    flat = re.sub(r"\s+", "", words)
    for expected in ("志愿服务记录证明", "member_a1", "区委组织部", "莱芜区", "2.5小时", "1次",
                     f"http://localhost/verify/{made.code}", "-".join([made.code[:4], made.code[4:8], made.code[8:12],
                                                                       made.code[12:]])):
        assert expected in flat, (expected, words)
    # another member cannot download it; nor can a mistyped code
    assert browse("member_a2").get(f"/me/certificates/{made.code}.pdf").status_code == 404
    assert member.get("/me/certificates/nonsense.pdf").status_code == 404

    # the public page, without logging in: what it states, nothing else about the person
    public = Browser(app)
    genuine = public.get(f"/verify/{made.code}")
    html = genuine.get_data(as_text=True)
    assert genuine.status_code == 200 and "真实有效" in html and "member_a1" in html and 'id="v-hours">2.5<' in html
    assert "区委组织部" not in html  # the unit is on the paper, not told to whoever scans
    assert public.get("/verify/0000000000000").status_code == 404
    assert "证明编号无效" in public.get("/verify/not-a-code").get_data(as_text=True)
    assert public.get("/verify?code=" + made.code.lower()).status_code == 302


def test_verify_chain_covers_members_records(world, app, session):
    _verified(world)
    made = _issue(app, world.member)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["verify-chain", "--subject", f"member:{world.member.id}"])
    assert result.exit_code == 0, result.output
    session.execute(Certificate.__table__.update().where(Certificate.id == made.id)
                    .values(statement=dict(made.statement, name="别人")))
    session.commit()
    result = runner.invoke(args=["verify-chain"])
    assert result.exit_code == 1 and f"certificate:{made.id}" in result.output
