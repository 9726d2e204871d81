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

from werkzeug.datastructures import MultiDict

from workflow import runtime

from workflow.errors import DomainError, Forbidden, InvalidInput, NotFound
from workflow.engine.schemas import DEFAULT_TEXT_LENGTH
from workflow.extensions import db
from workflow.services import claims as claim_service
from workflow.services import household, pairings, projects, registrations, transitions
from workflow.services import tasks as task_service
from workflow.services import uploads as upload_service
from workflow.services.subjects import kind as subject_kind

from . import common, messages, trigger_forms

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
    SubjectPage("registration", "registrations", "registration.detail", "registration_id"),
    SubjectPage("pairing", "pairings", "unit.pairing", "pairing_id"),
    SubjectPage("project", "projects", "unit.project", "project_id"),
)}
# How each kind's triggers are fired: tasks go through the task service (only staff and
# admins ever manage tasks); every other kind straight through the engine.
FIRE = {"claim": claim_service.fire, "task": task_service.fire, "registration": registrations.fire,
        "pairing": pairings.fire, "project": projects.fire}


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


@dataclass
class Decision:
    """Several short actions on one subject as one form (the staff's verdict on a report): one
    text box they share and a button per trigger, each button carrying its trigger's name.
    The box is the chosen trigger's one text field (a comment for approve, a reason for a
    return); which triggers require it is said next to it."""

    actions: list  # the Actions, in the definition's order
    url: str  # POST: fires the trigger the pressed button names
    label: str
    help: str
    required: bool  # every trigger needs the text
    max_length: int = 1000


def _one_text_field(trigger):
    return trigger.fields[0] if len(trigger.fields) == 1 and trigger.fields[0].type == "text" else None


def decision(items: list[Action], kind_name: str, subject_id: int, *, next_url: str | None = None):
    """The subject's short actions as one Decision, when at least two of them take one text
    field each (or none); otherwise None and the actions stay as they are."""
    choices = [a for a in items if a.inline and len(a.trigger.fields) <= 1
               and (not a.trigger.fields or _one_text_field(a.trigger))]
    if len(choices) < 2 or len(choices) != len(items):
        return None
    english = common.is_english()
    fields = [a.trigger.fields[0] for a in choices if a.trigger.fields]
    needing = [a.label for a in choices if a.trigger.fields and a.trigger.fields[0].required]
    labels = list(dict.fromkeys(_words_of(f, english) for f in fields))
    required = len(needing) == len(choices)
    url = url_for("actions.decide", path=PAGES[kind_name].path, subject_id=subject_id, next=next_url)
    return Decision(actions=choices, url=url,
                    label=labels[0] if len(labels) == 1 else _("Comment or reason"),
                    help=_("Required to: %(actions)s.", actions=" / ".join(needing)) if needing and not required
                    else "", required=required,
                    max_length=min((f.options.get("max_length", DEFAULT_TEXT_LENGTH) for f in fields), default=1000))


def _words_of(spec, english: bool) -> str:
    return spec.label_en if english else spec.label


def batch_triggers(items_by_subject: dict) -> list[Action]:
    """The main actions every listed subject allows (approve, on a queue of reports), offered for
    several subjects at once: each is still fired on each subject as its own transition."""
    lists = [items for items in items_by_subject.values() if items]
    if not lists:
        return []
    common_names = set.intersection(*({a.trigger.name for a in items if a.style == "primary" and a.inline
                                       and len(a.trigger.fields) <= 1} for items in lists))
    return [a for a in lists[0] if a.trigger.name in common_names]


def _load(kind_name: str, me, ident: int):
    """The row and its related rows, if the caller may see it (else NotFound: the 404 page)."""
    kind = subject_kind(kind_name)
    row = db.session.scalar(db.select(kind.model).where(kind.model.id == ident, kind.scope_filter(me)))
    if row is None:
        raise NotFound(f"{kind_name} {ident} not found")
    return row, kind.related(db.session, row)


@bp.route("/claims/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "claims"})
@bp.route("/tasks/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "tasks"})
@bp.route("/registrations/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "registrations"})
@bp.route("/pairings/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "pairings"})
@bp.route("/projects/<int:subject_id>/<trigger>", methods=["GET", "POST"], defaults={"path": "projects"})
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def fire(path, subject_id, trigger):
    kind_name = {page.path: kind for kind, page in PAGES.items()}[path]
    return trigger_page(kind_name, subject_id, trigger)


@bp.post("/claims/<int:subject_id>", defaults={"path": "claims"})
@bp.post("/tasks/<int:subject_id>", defaults={"path": "tasks"})
@common.roles("member", "staff", "supervisor", "admin")
def decide(path, subject_id):
    """A Decision's form: the pressed button names the trigger (`trigger`), the shared box is its
    text field. Fired as the trigger's own form would be: on an error, the trigger's page shows
    it next to the field with what was typed."""
    kind_name = {page.path: kind for kind, page in PAGES.items()}[path]
    trigger_name = request.form.get("trigger", "")
    me = common.actor()
    row, _related = _load(kind_name, me, subject_id)
    definition = runtime.registry().get(*subject_kind(kind_name).pinned(row)).definition
    trigger = definition.trigger(trigger_name)
    if trigger is None or not _inline(trigger) or len(trigger.fields) > 1:
        raise NotFound(f"no decision {trigger_name!r}")
    formdata = MultiDict({"csrf_token": request.form.get("csrf_token", "")})
    text = request.form.get("text", "")
    if trigger.fields:
        formdata[trigger.fields[0].name] = text
    return trigger_page(kind_name, subject_id, trigger_name, formdata=formdata)


@bp.post("/claims/batch", defaults={"path": "claims"})
@bp.post("/tasks/batch", defaults={"path": "tasks"})
@common.roles("staff", "admin")  # deciding many at once is the work of those who verify and manage
def batch(path):
    """One trigger on several subjects (staff approving several reports together): each is its
    own transition with its own audit event, the same text for all; what failed is reported
    by subject, what succeeded stays done."""
    kind_name = {page.path: kind for kind, page in PAGES.items()}[path]
    me = common.actor()
    trigger_name = request.form.get("trigger", "")
    back = common.safe_next(request.form.get("next"), "/")
    ids = list(dict.fromkeys(int(v) for v in request.form.getlist("subject") if v.isdigit() and len(v) <= 9))
    if not ids:
        flash(_("Choose at least one first."), "error")
        return redirect(back)
    if len(ids) > BATCH_LIMIT:
        flash(_("At most %(n)s at once.", n=BATCH_LIMIT), "error")
        return redirect(back)
    text = (request.form.get("text") or "").strip()
    done, failed = [], []
    for ident in ids:
        try:
            row, _related = _load(kind_name, me, ident)
            definition = runtime.registry().get(*subject_kind(kind_name).pinned(row)).definition
            trigger = definition.trigger(trigger_name)
            if trigger is None or trigger.internal or not _inline(trigger) or len(trigger.fields) > 1:
                raise NotFound(f"no trigger {trigger_name!r}")
            data = {trigger.fields[0].name: text} if trigger.fields and text else {}
            db.session.rollback()  # end the read: each transition is its own write transaction
            FIRE[kind_name](ident, trigger_name, me, data, request_id=common.request_id())
            done.append(ident)
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            failed.append((ident, _batch_failure(exc)))
    if done:
        flash(_("Done for %(n)s: %(ids)s.", n=len(done), ids=", ".join(f"#{i}" for i in done)), "success")
    for ident, why in failed:
        flash(_("Not done for #%(id)s: %(why)s", id=ident, why=why), "error")
    return redirect(back)


BATCH_LIMIT = 50


def _batch_failure(exc) -> str:
    if isinstance(exc, InvalidInput):
        texts = [m for ms in (exc.errors or {}).values() for m in (ms if isinstance(ms, list) else [ms])]
        return "; ".join(messages.field_message(str(t)) for t in texts) or common.domain_message(exc)
    if isinstance(exc, NotFound):
        return _("not found, or no longer yours to decide.")
    if isinstance(exc, DomainError):
        return common.domain_message(exc)
    return str(exc)


def trigger_page(kind_name: str, subject_id: int, trigger_name: str, formdata=None):
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
    # A form opened afresh starts from what the subject kind says it already holds (after a
    # return, the last report); a form posted back keeps what was sent.
    prefill = kind.prefill(db.session, trigger, row, related) if request.method == "GET" else {}
    form_cls = trigger_forms.form_class(definition, trigger, english)
    form = form_cls(formdata=formdata) if formdata is not None else form_cls(data=prefill or None)
    trigger_forms.fill_choices(form, trigger, lambda spec: kind.choices(db.session, row, related, spec))
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
                           kept=trigger_forms.kept_photos(form, trigger), prefilled=bool(prefill),
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
