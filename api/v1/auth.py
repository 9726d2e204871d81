"""POST/DELETE /api/v1/auth/token: bearer tokens for a username and password."""
from datetime import timedelta

from flask import current_app
from flask_limiter import RateLimitExceeded
from flask_smorest import Blueprint
from marshmallow import ValidationError

from workflow.services import auth as auth_service

from .. import security
from . import http
from .errors import ApiError
from .schemas import LoginSchema, TokenSchema

blp = Blueprint("v1_auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")
# Failed-login limits (api/security.py): the 429 in the API's error shape, before the generic 429 handler.
blp.register_error_handler(RateLimitExceeded, security.rate_limited_response)


@blp.route("/token", methods=["POST"])
@blp.doc(security=[], requestBody={"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}},
    description="Exchange a username and password for a bearer token. Failed logins are limited per account "
                "and client address (5 in 15 minutes; once an account has had 10 failures in 15 minutes from "
                "any addresses, also 1 a minute) and per client address (20 in 15 minutes): then 429 with "
                "Retry-After. The username is matched without regard to case. "
                "An Idempotency-Key is ignored here: a replay would have to store the token itself.")
@blp.response(200, TokenSchema)
@blp.alt_response(401, description="wrong username or password")
@blp.alt_response(429, description="too many failed logins")
@http.public
@security.limit_logins
def issue_token():
    try:
        data = LoginSchema().load(http.json_body())
    except ValidationError as exc:
        raise ApiError(422, "invalid login input", errors={"json": exc.normalized_messages()}) from None
    ttl = timedelta(seconds=current_app.config["BAODAO_API_TOKEN_TTL"])
    issued = auth_service.issue_token(data["username"], data["password"], address=security.client_address(),
                                      ttl=ttl)
    security.login_succeeded()
    return {"access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in}


@blp.route("/token", methods=["DELETE"])
@blp.doc(description="Revoke the token this request is made with.")
@blp.response(204)
def revoke_token():
    auth_service.revoke(http.g.api_token.id)
    return ""
