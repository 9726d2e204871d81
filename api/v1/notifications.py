"""GET /api/v1/me/notifications and POST /api/v1/me/notifications/read: the caller's inbox.

Each item's `text` is rendered now, in the language the caller's `Accept-Language` prefers
(Chinese unless English is preferred): notifications are stored as a kind and parameters.
Only the caller's own notifications exist here; nobody reads or marks another's.
"""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from workflow.extensions import db
from workflow.models import Notification
from workflow.services import notifications

from . import http, listing
from .errors import api_locale
from .schemas import UTCDateTime

blp = Blueprint("v1_notifications", __name__, url_prefix="/api/v1/me/notifications",
                description="The caller's notifications (the in-app inbox)")


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "true: only unread ones"})


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "the notification kind, e.g. claim_returned"})
    subject_type = fields.String(metadata={"description": "what it is about: claim, task, …"})
    subject_id = fields.Integer()
    text = fields.String(metadata={"description": "in the language of Accept-Language (Chinese by default)"})
    created_at = UTCDateTime()
    read_at = UTCDateTime(allow_none=True)


class MarkReadResultSchema(Schema):
    marked = fields.Integer(metadata={"description": "how many were unread and are read now"})
    unread = fields.Integer(metadata={"description": f"unread ones left (counted up to "
                                                     f"{notifications.UNREAD_CAP})"})



@blp.route("", methods=["GET"])
@blp.doc(description="The caller's notifications, newest first (`?unread=true`: only unread ones), paged. "
                     "`text` is in the language `Accept-Language` prefers (Chinese by default).")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True), headers={
    "Content-Language": {"description": "the language of the texts", "schema": {"type": "string"}}})
@blp.paginate()
def list_notifications(args, pagination_parameters):
    actor = http.actor()
    query = notifications.inbox_query(actor.id, unread_only=args["unread"])
    rows, headers = listing.page(query, pagination_parameters, order_by=Notification.id.desc())
    locale = api_locale()
    items = [{"id": n.id, "kind": n.kind, "subject_type": n.subject_type, "subject_id": n.subject_id,
              "text": notifications.text(n.kind, n.params, locale), "created_at": n.created_at, "read_at": n.read_at}
             for n in rows]
    headers["Content-Language"] = "en" if locale == "en" else "zh-CN"
    return items, 200, headers


@blp.route("/read", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/MarkRead"}}}},
    description='Mark some of the caller\'s notifications read (`{"ids": [...]}`) or all of them '
                '(`{"all": true}`). Ids that are not the caller\'s, or already read, are left alone.')
@blp.response(200, MarkReadResultSchema)
def mark_read():
    actor = http.actor()
    marked = notifications.mark_read_input(actor.id, http.json_body())
    return {"marked": marked, "unread": notifications.unread_count(db.session, actor.id)}
