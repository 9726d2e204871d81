"""Login, logout, the language switch and `/` (each role's home)."""
from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from workflow.errors import DomainError, WrongPassword
from workflow.extensions import db
from workflow.identity import IdentityError
from workflow.services import auth as auth_service
from workflow.services import demo
from workflow.services import users as user_service

from .. import security
from . import common
from .admin import identity_messages
from .forms import ActionForm, LoginForm, PasswordChangeForm

bp = Blueprint("auth", __name__)
common.page_blueprint_setup(bp)

HOMES = {"staff": "staff.queue", "supervisor": "supervisor.dashboard", "liaison": "unit.home", "admin": "admin.users"}


@bp.route("/login", methods=["GET", "POST"])
@security.limit_logins
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:  # scrypt work even for unknown names; failed attempts are limited (api/security.py)
            user = auth_service.check_credentials(form.username.data.strip(), form.password.data,
                                                  address=security.client_address(), channel="page")
        except DomainError:
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form, demo=demo.is_demo()), 401
        security.login_succeeded()
        target = common.safe_next(request.args.get("next"), url_for("auth.home"))
        # A fresh session at login: nothing from before the login (a fixated or stale
        # session) carries over, and the CSRF token is renewed with it.
        session.clear()
        g.pop("csrf_token", None)
        security.start_page_session(user)  # a new server-side session id, revoked at logout
        login_user(common.PageUser(user))
        session.permanent = True
        return redirect(target)
    return render_template("auth/login.html", form=form, demo=demo.is_demo())


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        security.end_page_session()  # effective at once: a copy of the cookie no longer logs in
        logout_user()
        session.clear()
        flash(_("You have logged out."), "info")
        return redirect(url_for("auth.login"))
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", form=form)


@bp.route("/me/password", methods=["GET", "POST"])
@security.limit_password_checks
def change_password():
    """Everyone's own password; the only page a user with a forced change may open (api/security.py)."""
    if not current_user.is_authenticated:
        return common.login_manager.unauthorized()
    form = PasswordChangeForm()
    forced = bool(current_user.must_change_password)
    if form.validate_on_submit():
        try:
            user_service.change_own_password(current_user.id, form.current_password.data, form.new_password.data,
                                             keep_token_id=security.page_session_token_id(),
                                             request_id=g.get("request_id"), address=security.client_address(),
                                             channel="page")
        except IdentityError as exc:
            db.session.rollback()
            form.new_password.errors = list(form.new_password.errors) + [
                m for messages in identity_messages(exc).values() for m in messages]
        except WrongPassword:
            db.session.rollback()
            security.password_was_wrong()
            form.current_password.errors = list(form.current_password.errors) + [_("The current password is wrong.")]
        else:
            flash(_("Your password is changed. Your other sessions have ended."), "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/password.html", form=form, forced=forced), 200 if not form.errors else 422


@bp.route("/lang/<code>")
def language(code):
    target = common.safe_next(request.args.get("next"), url_for("auth.home"))
    response = redirect(target)
    if code in common.LOCALES:
        response.set_cookie(common.LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role == "member":
        from .member import member_home
        return member_home()
    return redirect(url_for(HOMES[current_user.role]))
