"""Communities and their grids (网格): GET /communities (the district's communities and villages,
what a member picks when applying to register), GET and POST /communities/{id}/grids (its
staff and admins)."""
from dataclasses import dataclass

from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Community, Town
from workflow.services import grids as grid_service

from . import http, listing
from .schemas import CommunityQuerySchema, CommunitySchema, GridSchema

blp = Blueprint("v1_communities", __name__, url_prefix="/api/v1/communities",
                description="Communities and villages (社区/村) and their grids (网格)")
_GRID = GridSchema()


@blp.route("", methods=["GET"])
@blp.doc(description="The district's communities and villages by code (public geography, for any caller): the ids "
                     "a member applies to (POST /registrations). Filters: `town` (9-digit code), `q` (in the name).")
@blp.arguments(CommunityQuerySchema, location="query")
@blp.response(200, CommunitySchema(many=True))
@blp.paginate()
def list_communities(args, pagination_parameters):
    query = select(Community)
    if "town" in args:
        query = query.where(Community.town_id.in_(select(Town.id).where(Town.code == args["town"])))
    if "q" in args:
        query = query.where(func.lower(Community.name).contains(args["q"].lower(), autoescape=True))
    rows, headers = listing.page(query, pagination_parameters, order_by=Community.code,
                                 options=(selectinload(Community.town),))
    return [{"id": c.id, "code": c.code, "name": c.name, "short_name": c.short_name,
             "town": {"code": c.town.code, "name": c.town.name}} for c in rows], 200, headers


@blp.route("/<int(max=2147483647):community_id>/grids", methods=["GET"])
@blp.doc(description="The community's grids in the order they were made, with how many members are registered in "
                     "each. Staff of the community and admins; other staff 404, other roles 403.")
@blp.response(200, GridSchema(many=True))
def list_grids(community_id):
    actor = http.actor()
    community = grid_service.visible_community(db.session, actor, community_id)
    return [row.__dict__ for row in grid_service.grid_rows(db.session, community.id)]


@dataclass
class _Answer:
    view: dict
    created: bool = True


def render(view: dict, status: int):
    return status, _GRID.dump(view), {}


@blp.route("/<int(max=2147483647):community_id>/grids", methods=["POST"])
@blp.doc(description="Add a grid (`{\"name\": \"第一网格\"}`) to the community. Staff of the community and admins. "
         "422 for a name the community already has.",
         parameters=http.documented_headers("Idempotency-Key"),
         requestBody={"required": True, "content": {"application/json": {
             "schema": {"$ref": "#/components/schemas/GridInput"}}}})
@blp.response(201, GridSchema)
def add_grid(community_id):
    actor = http.actor()
    data = http.json_body()
    unknown = set(data) - {"name"}
    if unknown:
        raise InvalidInput("unknown fields", errors={k: ["Unknown field."] for k in sorted(unknown)})

    def call(idempotency):
        added = grid_service.add_grid(actor, community_id, data.get("name"), idempotency=idempotency)
        return _Answer(view=added.view)
    return http.idempotent_post(call, render)
