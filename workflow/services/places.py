"""Places: loading the district's towns and communities from the shipped division list, and
the contact and location a community's staff keep for members."""
import csv
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from ..engine.schemas import StrippedText
from ..errors import Forbidden, InvalidInput
from ..models import Community, Town
from .tx import write_transaction

DIVISIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "laiwu_divisions.csv"


def read_divisions(path: Path = DIVISIONS_CSV) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def load_divisions(path: Path = DIVISIONS_CSV) -> tuple[int, int]:
    """Insert the towns and communities not yet present. Returns (towns, communities) added."""
    rows = read_divisions(path)
    added_towns = added_communities = 0
    with write_transaction() as session:
        towns = {t.code: t for t in session.scalars(select(Town))}
        known = set(session.scalars(select(Community.code)))
        for row in rows:
            town = towns.get(row["street_code"])
            if town is None:
                town = towns[row["street_code"]] = Town(code=row["street_code"], name=row["street_name"])
                session.add(town)
                added_towns += 1
            if row["unit_code"] not in known:
                session.add(Community(code=row["unit_code"], name=row["unit_name"], town=town))
                known.add(row["unit_code"])
                added_communities += 1
    return added_towns, added_communities


class CommunityContactSchema(Schema):
    """What a community's staff keep up to date for members: whom to call, and where the
    community's service centre is (a map link; WGS-84 as a phone reports it)."""

    class Meta:
        unknown = RAISE

    contact_name = StrippedText(load_default=None, allow_none=True, validate=validate.Length(max=64))
    contact_phone = StrippedText(load_default=None, allow_none=True, validate=[
        validate.Length(max=32), validate.Regexp(r"^\+?[0-9][0-9 \-]{2,30}$", error="Not a phone number.")])
    lat = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                       validate=validate.Range(min=-180, max=180))

    @validates_schema
    def _together(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("lat and lon come together", field_name="lat")


def update_contact(actor, data: dict) -> Community:
    """Staff set their own community's contact and location (empty values clear them)."""
    if actor.role != "staff" or actor.community_id is None:
        raise Forbidden("only a community's staff keep its contact")
    try:
        values = CommunityContactSchema().load(data or {})
    except ValidationError as exc:
        raise InvalidInput("invalid contact", errors=exc.normalized_messages()) from None
    with write_transaction() as session:
        community = session.scalar(select(Community).where(Community.id == actor.community_id).with_for_update())
        for name, value in values.items():
            setattr(community, name, value or None if isinstance(value, str) else value)
    return community
