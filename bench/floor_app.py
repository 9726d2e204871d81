"""The floor: a naive Flask-SQLAlchemy app doing only what one transition must.

`POST /transition/<id>` looks up a bearer token, locks one row, updates it, inserts one
event row and commits; `GET /hello` answers with nothing behind it. Run under the
project's own gunicorn.conf.py by bench/run.py, against its own tables in the same
PostgreSQL database, so the product's lifecycle throughput can be compared with what
the stack itself allows on this machine.

    FLOOR_DATABASE_URL=postgresql+psycopg://… gunicorn -c gunicorn.conf.py bench.floor_app:app
"""
import hashlib
import os
from datetime import datetime, timezone

from flask import Flask, abort, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
    "FLOOR_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
db = SQLAlchemy(app)


class FloorToken(db.Model):
    __tablename__ = "floor_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column()


class FloorItem(db.Model):
    __tablename__ = "floor_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)


class FloorEvent(db.Model):
    __tablename__ = "floor_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("floor_items.id"))
    user_id: Mapped[int] = mapped_column()
    to_state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()


@app.get("/hello")
def hello():
    return "hello"


@app.post("/transition/<int:item_id>")
def transition(item_id):
    header = request.headers.get("Authorization", "")
    digest = hashlib.sha256(header.removeprefix("Bearer ").encode()).hexdigest()
    token = db.session.scalar(select(FloorToken).where(FloorToken.sha256 == digest))
    if token is None:
        abort(401)
    item = db.session.scalar(select(FloorItem).where(FloorItem.id == item_id).with_for_update())
    if item is None:
        abort(404)
    item.state = "visiting" if item.state == "claimed" else "claimed"
    item.version += 1
    db.session.add(FloorEvent(item_id=item.id, user_id=token.user_id, to_state=item.state,
                              created_at=datetime.now(timezone.utc).replace(tzinfo=None)))
    db.session.commit()
    return jsonify(id=item.id, state=item.state, version=item.version)


def setup(items: int, tokens: list[str]) -> None:
    """(Re)create the floor's tables with `items` rows and the given tokens."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all([FloorItem(id=i + 1, state="claimed") for i in range(items)])
        db.session.add_all([FloorToken(sha256=hashlib.sha256(t.encode()).hexdigest(), user_id=i + 1)
                            for i, t in enumerate(tokens)])
        db.session.commit()
