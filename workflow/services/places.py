"""Loading the district's towns and communities from the shipped division list."""
import csv
from pathlib import Path

from sqlalchemy import select

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
