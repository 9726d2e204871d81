"""Actions on a subject's page, and the page of each trigger, made from the definitions.

For every trigger the caller may fire now (the same `allowed_triggers` the API answers
with), a page shows an action: its label in the page's language, its style (one primary
action: when several primary triggers are open, the one written last in the definition —
the step furthest along — is the main one; the others look secondary), and its
confirmation question. A trigger without input is a button; one whose input is only short
text (a reason, a comment) is a small form right on the page; any other opens its own
page, `/<subjects>/<id>/<trigger>`, whose form is made from the trigger's fields
(api/pages/trigger_forms.py). A trigger added to a definition appears here with no code change.
"""
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow import runtime
from workflow.errors import Forbidden, InvalidInput, NotFound
from workflow.extensions import db
from workflow.services import claims as claim_service
from workflow.services import household, transitions
from workflow.services import tasks as task_service
from workflow.services import uploads as upload_service
from workflow.services.subjects import kind as subject_kind

from . import common, trigger_forms

bp = Blueprint("actions", __name__)
common.page_blueprint_setup(bp)


@dataclass(frozen=True)
class SubjectPage:
    kind: str
    path: str  # the URL segment: /claims/<id>, /tasks/<id>
    endpoint: str  # the subject's own page
    id_arg: str

    def url(self, ident: int) -> str:
        return url_for(self.endpoint, **{self.id_arg: ident})


PAGES = {page.kind: page for page in (
    SubjectPage("claim", "claims", "shared.claim", "claim_id"),
    SubjectPage("task", "tasks", "shared.task", "task_id"),
)}
# How each kind's triggers are fired: tasks go through the task service (only staff and
# admins ever manage tasks); every other kind straight through the engine.
FIRE = {"claim": claim_service.fire, "task": task_service.fire}


@dataclass
class Action:
    trigger: object  # TriggerSpec
    label: str
    style: str  # primary | secondary | danger
    confirm: str
    inline: bool  # its form sits on the subject's page
    url: str  # where its form posts (inline) or the page of its form
    form: object = None


def _inline(trigger) -> bool:
    """Short forms — no input, or text only (a reason, a comment) — sit on the subject's page."""
    return all(f.type == "text" for f in trigger.fields)


def actions(me, kind_name: str, row, related: dict | None = None, *, next_url: str | None = None) -> list[Action]:
    """The caller's actions on `row`, in the definition's order, one of them primary."""
    kind = subject_kind(kind_name)
    allowed = transitions.allowed_triggers(db.session, me, kind_name, row, related)
    definition = runtime.registry().get(*kind.pinned(row)).definition
    english = common.is_english()
    specs = [t for t in definition.triggers if t.name in allowed]
    primary = [t for t in specs if t.style == "primary"]
    main = primary[-1].name if primary else None
    path = PAGES[kind_name].path
    out = []
    for t in specs:
        style = "primary" if t.name == main else ("danger" if t.style == "danger" else "secondary")
        url = url_for("actions.fire", path=path, subject_id=row.id, trigger=t.name, next=next_url)
        inline = _inline(t)
        form = None
        if inline and t.fields:
            form = trigger_forms.form_class(definition, t, english)(formdata=None)
        out.append(Action(trigger=t, label=t.label_en if english else t.label, style=style,
                          confirm=(t.confirm_en if english else t.confirm), inline=inline, url=url, form=form))
    return out


def _load(kind_name: str, me, ident: int):
    """The row and its related rows, if the caller may see it (else NotFound: the 404 page)."""
    kind = subject_kind(kind_name)
    row = db.session.scalar(db.select(kind.model).where(kind.model.id == ident, kind.scope_filter(me)))
    if row is None:
        raise NotFound(f"{kind_name} {ident} not found")
    return row, kind.related(db.session, row)


@bp.route("/claims/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "claims"})
@bp.route("/tasks/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "tasks"})
@common.roles("member", "staff", "supervisor", "admin")
def fire(path, subject_id, trigger):
    kind_name = {page.path: kind for kind, page in PAGES.items()}[path]
    return trigger_page(kind_name, subject_id, trigger)


def trigger_page(kind_name: str, subject_id: int, trigger_name: str):
    me = common.actor()
    page = PAGES[kind_name]
    kind = subject_kind(kind_name)
    row, related = _load(kind_name, me, subject_id)
    definition = runtime.registry().get(*kind.pinned(row)).definition
    trigger = definition.trigger(trigger_name)
    if trigger is None or trigger.internal or trigger in definition.creating_triggers:
        raise NotFound(f"no page for {trigger_name}")
    if not kind.relations(me, row, related).intersection(trigger.roles):
        raise Forbidden(f"your role may not {trigger_name} this {kind_name}")
    english = common.is_english()
    form = trigger_forms.form_class(definition, trigger, english)()
    back = common.safe_next(request.values.get("next"), page.url(subject_id))
    if request.method == "POST":
        if form.validate_on_submit():
            data, files = trigger_forms.input_data(form, trigger)
            stored: list[int] = []
            try:
                _store_photos(me, files, data, stored)
                FIRE[kind_name](subject_id, trigger_name, me, data, request_id=common.request_id())
            except InvalidInput as exc:
                db.session.rollback()
                _discard(stored)
                for text in trigger_forms.show_errors(form, exc.errors):
                    flash(text, "error")
                if not exc.errors:
                    flash(common.domain_message(exc), "error")
            except Exception:
                db.session.rollback()
                _discard(stored)
                raise
            else:
                done = trigger.done_en if english else trigger.done
                flash(done or _("Done: %(action)s.", action=trigger.label_en if english else trigger.label),
                      "success")
                return redirect(back)
        else:
            flash(_("Please correct the marked fields."), "error")
        row, related = _load(kind_name, me, subject_id)
    allowed = transitions.allowed_triggers(db.session, me, kind_name, row, related)
    if trigger_name not in allowed and request.method == "GET":
        flash(_("This action is not possible in its current state."), "error")
        return redirect(page.url(subject_id))
    note = None
    if kind_name == "claim" and "claimant" in trigger.roles:
        # masked numbers, the daily limit: templates/member/_household.html
        note = household.open_household_note(me, related["task"], purpose=f"page:{trigger_name}",
                                             request_id=common.request_id())
    status = 422 if request.method == "POST" else 200
    return render_template("actions/trigger.html", kind=kind_name, subject=row, related=related, trigger=trigger,
                           definition=definition, form=form, back=back, household_note=note,
                           label=trigger.label_en if english else trigger.label,
                           confirm=trigger.confirm_en if english else trigger.confirm,
                           kept=trigger_forms.kept_photos(form, trigger),
                           location=trigger_forms.location_partner(trigger)), status


def _store_photos(me, files: dict, data: dict, stored: list[int]) -> None:
    """Photos sent with the form itself (no script): stored now and named in the input;
    `stored` collects their ids, removed again if the transition fails (a failed request
    keeps no uploads). A file that is not a photo is a field error on its input."""
    for name, chosen in files.items():
        for item in chosen:
            try:
                upload = upload_service.save_upload(me, item.read(), current_app.config["BAODAO_UPLOAD_DIR"])
            except InvalidInput as exc:
                texts = [m for ms in (exc.errors or {}).values() for m in ms] or [exc.message]
                raise InvalidInput(exc.message, errors={name: texts}) from None
            stored.append(upload.id)
            data.setdefault(name, []).append(upload.id)


def _discard(upload_ids: list[int]) -> None:
    if upload_ids:
        upload_service.discard_unattached(upload_ids, current_app.config["BAODAO_UPLOAD_DIR"])
