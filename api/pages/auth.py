"""Login, logout, the language switch and `/` (each role's home)."""
from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from workflow.errors import DomainError
from workflow.services import auth as auth_service
from workflow.services import demo

from .. import security
from . import common
from .forms import ActionForm, LoginForm

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
