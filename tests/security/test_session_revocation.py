"""Issue 16, defect 4: a password reset, a role or scope change and deactivation end every API token
and every page session of the user at once (before: the 12 h token and the 31-day page session of a
user whose password an admin reset still worked). Both databases."""
import pytest
from sqlalchemy import select

from tests.api.api_helpers import ApiClient
from workflow.models import ApiToken
from workflow.services import auth as auth_service
from workflow.services import users as user_service

STRONG = "violet-harbour-lamp-7"


def _logged_in(world, browse, app):
    """The staff user with a bearer token and a logged-in page session."""
    token = auth_service.issue_token_for(world.staff).token
    page = browse("staff_a")
    assert page.get("/staff/queue").status_code == 200
    assert ApiClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return token, page


def _assert_logged_out(app, token, page):
    assert ApiClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    response = page.get("/staff/queue")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


CHANGES = {
    "password reset": lambda w: user_service.update_user(w.staff.id, name="staff_a", role="staff",
                                                         community=w.a.code, password=STRONG, actor=w.admin),
    "role change": lambda w: user_service.update_user(w.staff.id, name="staff_a", role="member", unit=w.unit1.code,
                                                      community=w.a.code, actor=w.admin),
    "scope change": lambda w: user_service.update_user(w.staff.id, name="staff_a", role="staff",
                                                       community=w.b.code, actor=w.admin),
    "deactivation": lambda w: user_service.set_active(w.staff.id, False, actor=w.admin),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_change_ends_every_token_and_page_session(app, world, browse, session, change):
    token, page = _logged_in(world, browse, app)
    CHANGES[change](world)
    _assert_logged_out(app, token, page)
    live = session.scalars(select(ApiToken).where(ApiToken.user_id == world.staff.id,
                                                  ApiToken.revoked_at.is_(None))).all()
    assert live == []


def test_a_name_change_keeps_the_sessions(app, world, browse):
    token, page = _logged_in(world, browse, app)
    user_service.update_user(world.staff.id, name="王社工", role="staff", community=world.a.code, actor=world.admin)
    assert page.get("/staff/queue").status_code == 200
    assert ApiClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_reset_on_the_admin_page_logs_the_user_out_and_the_new_password_works(app, world, browse):
    token, page = _logged_in(world, browse, app)
    admin = browse("admin")
    admin.get(f"/admin/users/{world.staff.id}/edit")
    response = admin.post(f"/admin/users/{world.staff.id}/password", {"reset-how": "set", "reset-password": STRONG})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    _assert_logged_out(app, token, page)
    assert admin.get("/admin/").status_code == 200  # the admin's own session is untouched
    again = browse()
    again.get("/login")
    assert again.post("/login", {"username": "staff_a", "password": STRONG}).status_code == 302
    # …and then must choose their own before anything else (issue 15).
    forced = again.get("/staff/queue")
    assert forced.status_code == 303 and forced.headers["Location"].endswith("/me/password")


def test_an_import_update_that_changes_rights_ends_sessions(app, world, browse, tmp_path):
    token, page = _logged_in(world, browse, app)
    path = tmp_path / "users.csv"
    path.write_text("username,name,role,unit,community,scope,password\n"
                    f"staff_a,staff_a,staff,,{world.b.code},,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-users", str(path), "--update"])
    assert result.exit_code == 0, result.output
    _assert_logged_out(app, token, page)


def test_admin_can_end_a_users_sessions(app, world, browse):
    token, page = _logged_in(world, browse, app)
    admin = browse("admin")
    edit = admin.get(f"/admin/users/{world.staff.id}/edit").get_data(as_text=True)
    assert "2" in edit  # live sessions and tokens
    assert admin.post(f"/admin/users/{world.staff.id}/sessions/end", {}).status_code == 302
    _assert_logged_out(app, token, page)
