"""Photo uploads: POST /api/v1/uploads (multipart, field `file`) and GET /api/v1/uploads/{id}."""
import hashlib

from flask import current_app, g, make_response, request
from flask_smorest import Blueprint

from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.services import idempotency
from workflow.services import uploads as upload_service

from . import http
from .errors import ApiError
from .schemas import UploadSchema

blp = Blueprint("v1_uploads", __name__, url_prefix="/api/v1/uploads", description="Photos")


_UPLOAD = UploadSchema()


def render(view: dict, status: int):
    return status, _UPLOAD.dump(view), {"Location": f"/api/v1/uploads/{view['id']}"}


@blp.route("", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}},
    parameters=http.documented_headers("Idempotency-Key"),
    description="Upload a photo (members and staff): JPEG, PNG, WebP or HEIC (stored as JPEG), at most 10 MB (a larger Content-Length "
                "is refused with 413 before the body is read). It is decoded and re-encoded (EXIF, including "
                "GPS, stripped) and stored content-addressed outside the web root. Name its id in a check-in "
                "or report's `photos`.")
@blp.response(201, UploadSchema)
def upload():
    g.input_location = "files"
    actor = http.actor()
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "send the photo as multipart/form-data, field `file`", error="unsupported_media_type",
                       errors={"headers": {"Content-Type": ["Must be multipart/form-data."]}})
    file = request.files.get("file")
    if file is None:
        raise InvalidInput("no file", errors={"file": ["Missing data for required field."]})
    raw = file.read(upload_service.MAX_BYTES + 1)

    def call(idem):
        saved = upload_service.save_upload(actor, raw, current_app.config["BAODAO_UPLOAD_DIR"], idempotency=idem)
        return idempotency.Answer(view=upload_service.upload_view(saved), created=True)
    return http.idempotent_post(call, render, fingerprint_body=hashlib.sha256(raw).digest())


@blp.route("/<int(max=2147483647):upload_id>", methods=["GET"])
@blp.doc(description="The image bytes, for its uploader and whoever may see the claim it belongs to.")
@blp.response(200, content_type="image/jpeg", description="the image (image/jpeg, image/png or image/webp)")
def get_upload(upload_id):
    actor = http.actor()
    found = upload_service.visible_upload(db.session, actor, upload_id)
    data = upload_service.read_upload(found, current_app.config["BAODAO_UPLOAD_DIR"])
    response = make_response(data)
    response.headers["Content-Type"] = found.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["ETag"] = f'"{found.sha256}"'
    response.headers["Content-Disposition"] = f'inline; filename="upload-{found.id}"'
    return response
