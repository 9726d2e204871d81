"""District-scale benchmark data: tens of thousands of members, a million claims
(`flask --app wsgi bench-data`, for bench/run.py; it lives here, with the benchmarks, not in
the service code).

Written straight into the tables (COPY on PostgreSQL, batched inserts on SQLite) rather
than through the services — a million claims through the services would take hours —
but with exactly the rows the services would write: every claim's and task's events
form a hash chain that `verify-chain` accepts, slot counts equal live claims, verified
claims have their points and unit feedback. Deterministic for a given seed.

Shape: three years of tasks (one per staffed community in turn), ~10 claims per task;
tasks whose deadline has passed are closed and their claims final (verified, rejected,
withdrawn, expired); the newest tasks are open with live claims in every live state.

Members' 报到 (`registrations`): every staffed community has three to six grids; 90 % of the members
are registered (active) in a grid of the community they live in — some accepted last year and renewed
in December, some after moving from another community (an ended registration there) — 3 % have
applied and wait for staff, the rest are not registered (some declined, withdrew or let last year's
term lapse); a member's `users.community_id` is their active registration's community, as the
registration process keeps it. Each registration's chain is the events the engine writes.

The unit's 报到 (`unit_work`): each unit pairs with about as many staffed communities as there are
per unit (every staffed community has a paired unit), a few of those pairings ended or still
proposed; projects (`--projects`, default one per 50 tasks) spread over the staffed communities,
each taken by a unit paired there, in every state (open, under way with progress reports,
reported, done, cancelled), with their events on their chains as the engine writes them.
"""
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text

from workflow import audit, runtime
from workflow.clock import (day_end, district_date, district_midnight, district_month, district_year, iso,
                            renewal_opens, utcnow, year_end)
from workflow.extensions import db
from workflow.identity import username_key
from workflow.models import Community, Grid, Task, Unit, User
from workflow.services import places
from workflow.services.demo import CATEGORIES, GIVEN, GRID_NAMES, SURNAMES, TASK_TEMPLATES, UNIT_NAMES
from workflow.services.tx import write_transaction

DEFINITION = "dual_reporting@1"
TASK_DEFINITION = "task@1"
PAIRING_DEFINITION = "pairing@1"
PROJECT_DEFINITION = "project@1"
REGISTRATION_DEFINITION = "registration@1"
# (share of the members, what their 报到 looks like now): 90 % registered (the first three)
REGISTRATION_PATHS = [(0.72, "active"), (0.10, "renewed"), (0.08, "moved"), (0.03, "applied"), (0.03, "declined"),
                      (0.02, "withdrawn"), (0.02, "lapsed")]
SKILLS = ("", "政策宣讲", "法律咨询", "医疗健康", "文艺演出", "助老助残", "环境整治")
AVAILABILITY = ("", "周末", "工作日晚上", "节假日")
# (share, final state, triggers after `publish`) of projects; `take` is by a unit paired with the community
PROJECT_PATHS = [(0.15, "open", []), (0.25, "taken", ["take", "report_progress"]),
                 (0.10, "reported", ["take", "report_progress", "report"]),
                 (0.40, "done", ["take", "report_progress", "report", "approve"]),
                 (0.10, "cancelled", ["cancel"])]
PROJECT_DEST = {"publish": "open", "take": "taken", "report_progress": "taken", "report": "reported",
                "approve": "done", "cancel": "cancelled"}
# (share, final state, triggers after `claim`) for claims on tasks whose deadline passed
PAST = [(0.65, "verified", ["check_in", "submit_report", "approve"]),
        (0.05, "rejected", ["check_in", "submit_report", "reject"]),
        (0.10, "withdrawn", ["withdraw"]),
        (0.05, "withdrawn", ["check_in", "withdraw"]),
        (0.15, "expired", ["expire"])]
LIVE = [("claimed", []), ("visiting", ["check_in"]), ("reported", ["check_in", "submit_report"]),
        ("returned", ["check_in", "submit_report", "return"])]
DEST = {"claim": "claimed", "check_in": "visiting", "submit_report": "reported", "approve": "verified",
        "reject": "rejected", "return": "returned", "withdraw": "withdrawn", "expire": "expired"}


@dataclass
class Ids:
    """Next id of each table: rows are written with explicit ids so they can refer to each other."""

    claim: int = 1
    event: int = 1
    registration: int = 1
    pairing: int = 1
    project: int = 1
    project_report: int = 1
    visit: int = 1
    report: int = 1
    points: int = 1
    feedback: int = 1


class Writer:
    """Buffers rows per table and writes them in bulk: COPY on PostgreSQL, executemany on SQLite."""

    ORDER = ("tasks", "claims", "visits", "reports", "points_entries", "unit_feedback", "pairings", "projects",
             "project_reports", "registrations", "audit_events", "audit_personal_values")

    def __init__(self, session, rng: random.Random):
        self.session = session
        # Personal fields' salts, from the seed like everything else (the engine's are random).
        self.salt = lambda: rng.getrandbits(128).to_bytes(16, "big").hex()
        self.postgres = db.engine.dialect.name == "postgresql"
        self.rows: dict[str, list[tuple]] = {name: [] for name in self.ORDER}
        self.columns = {name: [c.name for c in db.metadata.tables[name].columns] for name in self.ORDER}

    def add(self, table: str, **values) -> None:
        self.rows[table].append(tuple(values.get(c) for c in self.columns[table]))

    def flush(self) -> None:
        conn = self.session.connection()
        for table in self.ORDER:
            rows, cols = self.rows[table], self.columns[table]
            if not rows:
                continue
            if self.postgres:
                json_cols = {i for i, c in enumerate(cols) if c in ("payload", "photo_ids")}
                raw = conn.connection.driver_connection
                with raw.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([audit.canonical_json(v) if i in json_cols else v for i, v in enumerate(row)])
            else:
                placeholders = ", ".join("?" for _ in cols)
                json_cols = {i for i, c in enumerate(cols) if c in ("payload", "photo_ids")}
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})",
                    [tuple(audit.canonical_json(v) if i in json_cols else
                           (iso(v)[:-1].replace("T", " ") if hasattr(v, "microsecond") else v)
                           for i, v in enumerate(row)) for row in rows])
            rows.clear()


def _personal_fields(definition: str | None, trigger: str) -> tuple[str, ...]:
    """The fields the definition marks personal: stored apart, as the engine does (workflow/audit.py)."""
    if definition is None:
        return ()
    name, _, version = definition.partition("@")
    spec = runtime.registry().get(name, int(version)).definition.trigger(trigger)
    return spec.personal_fields if spec is not None else ()


def _chain_event(w: Writer, ids: Ids, heads: dict, *, subject_type, subject_id, trigger, from_state, to_state,
                 actor_id, actor_role, at, payload, definition=None):
    key = (subject_type, subject_id)
    seq, prev = heads.get(key, (0, None))
    hashed, apart = audit.seal_personal(payload, _personal_fields(definition, trigger), salt=w.salt)
    fields = {"subject_type": subject_type, "subject_id": subject_id, "seq": seq + 1, "trigger": trigger,
              "from_state": from_state, "to_state": to_state, "actor_id": actor_id, "actor_role": actor_role,
              "created_at": iso(at), "payload": hashed, "request_id": None, "definition": definition}
    digest = audit.compute_hash(fields, prev)
    w.add("audit_events", **{**fields, "created_at": at}, id=ids.event, prev_hash=prev, hash=digest)
    for value in apart:
        w.add("audit_personal_values", event_id=ids.event, **value)
    ids.event += 1
    heads[key] = (seq + 1, digest)


def generate(*, members: int, tasks: int, claims: int, projects: int | None = None, seed: int = 370116,
             chunk: int = 500, progress=None) -> dict:
    """Fill an empty database. `progress(n)` is called with the tasks written, then with the members
    whose registrations are written (tasks + members in all)."""
    session = db.session
    if session.scalar(select(func.count(User.id))):
        raise ValueError("bench-data needs an empty database (run `flask db upgrade` on a new one)")
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    places.load_divisions()
    communities = session.scalars(select(Community).order_by(Community.id)).all()

    with write_transaction():
        pw = User(username="x", name="x", role="admin")
        pw.set_password("baodao-bench")
        units = [Unit(code=f"lw{i + 1:03d}", name=n) for i, n in enumerate(UNIT_NAMES)]
        session.add_all(units)
        session.flush()
        staffed = communities[::3]  # a third of the communities publish tasks
        staff = []
        conn = session.connection()
        users_table = db.metadata.tables["users"]
        user_rows = [dict(username="admin", name="平台管理员", role="admin", password_hash=pw.password_hash,
                          active=True, created_at=now),
                     dict(username="supervisor", name="区直机关工委督导", role="supervisor",
                          password_hash=pw.password_hash, active=True, created_at=now)]
        for i, c in enumerate(staffed):
            user_rows.append(dict(username=f"staff{i + 1}", name=f"{c.short_name}工作人员", role="staff",
                                  community_id=c.id, password_hash=pw.password_hash, active=True, created_at=now))
        for i, unit in enumerate(units):  # each unit's liaison (联络员): the unit's pairings and projects
            user_rows.append(dict(username=f"liaison{i + 1}", name=f"{unit.name}联络员", role="liaison",
                                  unit_id=unit.id, password_hash=pw.password_hash, active=True, created_at=now))
        for i in range(members):
            user_rows.append(dict(username=f"member{i + 1}",
                                  name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                                  role="member", unit_id=rng.choice(units).id,
                                  community_id=rng.choice(staffed).id, password_hash=pw.password_hash,
                                  active=True, created_at=now))
        for start in range(0, len(user_rows), 5000):
            conn.execute(users_table.insert(), [{"unit_id": None, "community_id": None, "scope_town_id": None,
                                                 "username_key": username_key(r["username"]), **r}
                                                for r in user_rows[start:start + 5000]])
        staff = {row.community_id: row.id for row in session.execute(
            select(User.community_id, User.id).where(User.role == "staff"))}
        liaisons = {row.unit_id: row.id for row in session.execute(
            select(User.unit_id, User.id).where(User.role == "liaison"))}
        residents: dict[int, list[tuple[int, int]]] = {}
        for row in session.execute(select(User.id, User.unit_id, User.community_id).where(User.role == "member")):
            residents.setdefault(row.community_id, []).append((row.id, row.unit_id))
        # grids (网格): three to six in every staffed community, named as real ones are
        names = GRID_NAMES + ("第五网格", "第六网格")
        conn.execute(db.metadata.tables["grids"].insert(), [dict(community_id=c.id, name=names[k])
                                                           for c in staffed for k in range(3 + c.id % 4)])
        grids: dict[int, list[int]] = {}
        for row in session.execute(select(Grid.community_id, Grid.id).order_by(Grid.id)):
            grids.setdefault(row.community_id, []).append(row.id)
        unit_members: dict[int, list[str]] = {}
        for row in session.execute(select(User.unit_id, User.name).where(User.role == "member").order_by(User.id)):
            unit_members.setdefault(row.unit_id, []).append(row.name)

    ids, counts = Ids(), {"tasks": 0, "claims": 0, "events": 0}
    span = timedelta(days=3 * 365)
    per_task = claims / tasks
    first_task_id = (session.scalar(select(func.max(Task.id))) or 0) + 1
    with write_transaction():
        w = Writer(session, rng)
        heads: dict = {}
        for n in range(tasks):
            task_id = first_task_id + n
            community = staffed[n % len(staffed)]
            staff_id = staff[community.id]
            created = now - span + span * (n / tasks) + timedelta(minutes=rng.randint(0, 600))
            deadline = created + timedelta(days=30)
            is_past = deadline < now
            category = rng.choice(CATEGORIES)
            target = int(per_task) + (1 if rng.random() < per_task - int(per_task) else 0)
            target = min(target, claims - counts["claims"])
            capacity = max(target + (0 if is_past else 2), 1)
            task_claims = []
            people = residents.get(community.id) or [(0, None)]
            for k in range(target):
                member_id, unit_id = people[(n + k) % len(people)]
                if member_id == 0:
                    break
                if is_past:
                    roll, acc = rng.random(), 0.0
                    for share, state, path in PAST:
                        acc += share
                        if roll <= acc:
                            break
                else:
                    state, path = rng.choice(LIVE)
                task_claims.append((member_id, unit_id, state, path))
            live = sum(1 for c in task_claims if c[2] in ("claimed", "visiting", "reported", "returned"))
            status = "closed" if is_past else "open"
            w.add("tasks", id=task_id, title=rng.choice(TASK_TEMPLATES[category]), description="社区需求",
                  category=category, community_id=community.id, grid_id=None, address=f"{community.short_name}",
                  capacity=capacity, slots_taken=live, points=10, deadline=deadline, status=status,
                  version=3 if is_past else 2, definition_name="task", definition_version=1,
                  created_by_id=staff_id, created_at=created,
                  # its last change: the close at the deadline (below), else the publish
                  updated_at=deadline + timedelta(minutes=5) if is_past else created + timedelta(minutes=30))
            _chain_event(w, ids, heads, subject_type="task", subject_id=task_id, trigger="create", from_state=None,
                         to_state="draft", actor_id=staff_id, actor_role="staff", at=created,
                         payload={"title": "任务", "capacity": capacity, "category": category},
                         definition=TASK_DEFINITION)
            _chain_event(w, ids, heads, subject_type="task", subject_id=task_id, trigger="publish",
                         from_state="draft", to_state="open", actor_id=staff_id, actor_role="staff",
                         at=created + timedelta(minutes=30), payload={}, definition=TASK_DEFINITION)
            for k, (member_id, unit_id, state, path) in enumerate(task_claims):
                _claim(w, ids, heads, rng, task_id, staff_id, member_id, unit_id, state, path,
                       created + timedelta(hours=1 + k), deadline, now)
                counts["claims"] += 1
            if is_past:
                _chain_event(w, ids, heads, subject_type="task", subject_id=task_id, trigger="close",
                             from_state="open", to_state="closed", actor_id=None, actor_role="system",
                             at=deadline + timedelta(minutes=5), payload={"why": "deadline passed"},
                             definition=TASK_DEFINITION)
            counts["tasks"] += 1
            if n % chunk == chunk - 1:
                w.flush()
                heads.clear()  # every subject's chain was written whole within the chunk
                if progress:
                    progress(chunk)
        w.flush()
        if progress:
            progress(tasks % chunk)
    with write_transaction():
        w = Writer(session, rng)
        counts.update(unit_work(w, ids, rng, units=[u.id for u in units], staffed=[c.id for c in staffed],
                                staff=staff, liaisons=liaisons, now=now, projects=tasks // 50 if projects is None else projects,
                                unit_members=unit_members))
        w.flush()
    with write_transaction():
        w = Writer(session, rng)
        counts.update(registrations(w, ids, rng, residents=residents, grids=grids, staff=staff, now=now,
                                    progress=progress))
        w.flush()
        counts["events"] = ids.event - 1
    if db.engine.dialect.name == "postgresql":
        with write_transaction():
            for table in ("tasks", "claims", "visits", "reports", "points_entries", "unit_feedback", "audit_events",
                          "users", "units", "pairings", "projects", "project_reports", "registrations", "grids"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"COALESCE((SELECT max(id) FROM {table}), 1))"))
            session.execute(text("ANALYZE"))
    return counts


def _claim(w, ids, heads, rng, task_id, staff_id, member_id, unit_id, state, path, start, deadline, now):
    claim_id = ids.claim
    ids.claim += 1
    t = start
    events = [("claim", member_id, "member", {})]
    for trigger in path:
        actor = (staff_id, "staff") if trigger in ("approve", "reject", "return") else \
            (None, "system") if trigger == "expire" else (member_id, "member")
        events.append((trigger, actor[0], actor[1], None))
    current = "new"
    last_reason = None
    for trigger, actor_id, role, payload in events:
        t = deadline + timedelta(minutes=2) if trigger == "expire" else t + timedelta(hours=rng.uniform(2, 40))
        if trigger != "expire":
            t = min(t, deadline - timedelta(minutes=1), now - timedelta(minutes=1))
        if trigger == "check_in":
            w.add("visits", id=ids.visit, claim_id=claim_id, visited_at=t, lat=None, lon=None,
                  note="入户走访", photo_ids=[], created_at=t)
            payload = {"note": "入户走访", "visit_id": ids.visit}
            ids.visit += 1
        elif trigger == "submit_report":
            hours = rng.choice((1.0, 1.5, 2.0, 3.0))
            w.add("reports", id=ids.report, claim_id=claim_id, summary="已完成", hours=hours, households=1,
                  photo_ids=[], created_at=t)
            payload = {"summary": "已完成", "hours": hours, "households": 1, "report_id": ids.report}
            ids.report += 1
        elif trigger == "approve":
            w.add("points_entries", id=ids.points, member_id=member_id, unit_id=unit_id, claim_id=claim_id,
                  points=10, kind="award", reverses_id=None, note="任务", created_at=t)
            w.add("unit_feedback", id=ids.feedback, unit_id=unit_id, member_id=member_id, claim_id=claim_id,
                  month=district_month(t), hours=hours, households=1, points=10, verified_by_id=staff_id,
                  created_at=t)
            payload = {"comment": "属实", "points_entry_id": ids.points}
            ids.points += 1
            ids.feedback += 1
        elif trigger in ("reject", "return"):
            last_reason = "请补充说明"
            payload = {"reason": last_reason}
        elif payload is None:
            payload = {}
        _chain_event(w, ids, heads, subject_type="claim", subject_id=claim_id, trigger=trigger, from_state=current,
                     to_state=DEST[trigger], actor_id=actor_id, actor_role=role, at=t, payload=payload,
                     definition=DEFINITION)
        current = DEST[trigger]
    w.add("claims", id=claim_id, task_id=task_id, member_id=member_id, unit_id=unit_id, state=state,
          version=len(events), definition_name="dual_reporting", definition_version=1, last_reason=last_reason,
          visit_count=sum(1 for e in events if e[0] == "check_in"),
          created_at=start, updated_at=t)


def unit_work(w: Writer, ids: Ids, rng, *, units: list[int], staffed: list[int], staff: dict, liaisons: dict, now,
              projects: int, unit_members: dict | None = None) -> dict:
    """Pairings of every unit with staffed communities, and projects taken by paired units, written as
    the pairing and project processes write them (rows and their chains), the units' liaisons acting."""
    heads: dict = {}
    today = district_date(now)
    per_unit = max(3, -(-len(staffed) // max(len(units), 1)))
    paired: dict[int, list[tuple[int, int]]] = {}  # community → [(unit, pairing)] active
    counts = {"pairings": 0, "projects": 0}
    for u, unit_id in enumerate(units):
        for k in range(per_unit):
            community_id = staffed[(u * per_unit + k) % len(staffed)]
            if any(unit == unit_id for unit, _ in paired.get(community_id, [])):
                continue
            roll = rng.random()
            state = "proposed" if roll < 0.05 else "ended" if roll < 0.12 else "active"
            created = now - timedelta(days=rng.uniform(30, 700))
            ends_on = today + timedelta(days=rng.randint(60, 900))
            pairing_id, ids.pairing = ids.pairing, ids.pairing + 1
            staff_id = staff[community_id]
            t = created
            _chain_event(w, ids, heads, subject_type="pairing", subject_id=pairing_id, trigger="propose",
                         from_state="new", to_state="proposed", actor_id=liaisons[unit_id], actor_role="liaison", at=t,
                         payload={"community_id": community_id, "agreement": "共建党课、志愿服务",
                                  "ends_on": ends_on.isoformat(), "unit_id": unit_id},
                         definition=PAIRING_DEFINITION)
            version, accepted_at, reason = 1, None, None
            if state != "proposed":
                t = accepted_at = t + timedelta(days=2)
                _chain_event(w, ids, heads, subject_type="pairing", subject_id=pairing_id, trigger="accept",
                             from_state="proposed", to_state="active", actor_id=staff_id, actor_role="staff", at=t,
                             payload={}, definition=PAIRING_DEFINITION)
                version += 1
            if state == "ended":
                t, reason = t + timedelta(days=20), "单位职能调整"
                _chain_event(w, ids, heads, subject_type="pairing", subject_id=pairing_id, trigger="end",
                             from_state="active", to_state="ended", actor_id=staff_id, actor_role="staff", at=t,
                             payload={"reason": reason}, definition=PAIRING_DEFINITION)
                version += 1
            w.add("pairings", id=pairing_id, unit_id=unit_id, community_id=community_id, state=state, version=version,
                  definition_name="pairing", definition_version=1, agreement="共建党课、志愿服务", ends_on=ends_on,
                  term_ends_at=day_end(ends_on), proposed_by_id=liaisons[unit_id], accepted_by_id=staff_id if accepted_at else None,
                  accepted_at=accepted_at, last_reason=reason, created_at=created, updated_at=t)
            counts["pairings"] += 1
            if state == "active":
                paired.setdefault(community_id, []).append((unit_id, pairing_id))
    hosts = [c for c in staffed if c in paired]
    for n in range(projects if hosts else 0):
        community_id = hosts[n % len(hosts)]
        unit_id, pairing_id = paired[community_id][n % len(paired[community_id])]
        roll, acc = rng.random(), 0.0
        for share, state, path in PROJECT_PATHS:
            acc += share
            if roll <= acc:
                break
        _project(w, ids, heads, rng, community_id, staff[community_id], (unit_id, liaisons[unit_id]), pairing_id, state,
                 path, now, today, (unit_members or {}).get(unit_id, []))
        counts["projects"] += 1
    return counts


def _project(w, ids, heads, rng, community_id, staff_id, unit, pairing_id, state, path, now, today, members=()):
    (unit_id, liaison_id), (project_id, ids.project) = unit, (ids.project, ids.project + 1)
    created = now - timedelta(days=rng.uniform(20, 300))
    starts_on, ends_on = district_date(created), today + timedelta(days=rng.randint(10, 120))
    t = created
    publish = {"title": "结对共建项目", "description": "由结对单位牵头实施", "category": "志愿服务",
               "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()}
    _chain_event(w, ids, heads, subject_type="project", subject_id=project_id, trigger="publish", from_state="new",
                 to_state="open", actor_id=staff_id, actor_role="staff", at=t, payload=publish,
                 definition=PROJECT_DEFINITION)
    current, values = "open", {"member_count": None, "hours": None, "reported_at": None, "done_at": None,
                               "last_reason": None, "taken_at": None}
    for trigger in path:
        t = min(t + timedelta(days=rng.uniform(1, 10)), now - timedelta(minutes=1))
        actor = (staff_id, "staff") if trigger in ("approve", "cancel") else (liaison_id, "liaison")
        payload = {}
        if trigger == "take":
            payload, values["taken_at"] = {"unit_id": unit_id, "pairing_id": pairing_id}, t
        elif trigger in ("report_progress", "report"):
            kind = "progress" if trigger == "report_progress" else "completion"
            text_field = "text" if kind == "progress" else "summary"
            hours = float(rng.choice((8, 16, 24, 40)))
            # the members who took part (participants), named by the liaison as the report form asks
            took_part = rng.sample(list(members), min(len(members), rng.randint(3, 8))) if members else []
            names, count = "、".join(took_part) or "党员志愿者", len(took_part) or 5
            w.add("project_reports", id=ids.project_report, project_id=project_id, kind=kind, text="已开展活动",
                  members="" if kind == "progress" else names, member_count=None if kind == "progress" else count,
                  hours=None if kind == "progress" else hours, photo_ids=[], author_id=liaison_id, created_at=t)
            payload = {text_field: "已开展活动", "report_id": ids.project_report}
            if kind == "completion":
                payload.update(members=names, member_count=count, hours=hours)
                values.update(member_count=count, hours=hours, reported_at=t)
            ids.project_report += 1
        elif trigger == "approve":
            values["done_at"] = t
        elif trigger == "cancel":
            payload = {"reason": "需求变化"}
            values["last_reason"] = "需求变化"
        _chain_event(w, ids, heads, subject_type="project", subject_id=project_id, trigger=trigger,
                     from_state=current, to_state=PROJECT_DEST[trigger], actor_id=actor[0], actor_role=actor[1], at=t,
                     payload=payload, definition=PROJECT_DEFINITION)
        current = PROJECT_DEST[trigger]
    taken = "take" in path
    w.add("projects", id=project_id, community_id=community_id, title=publish["title"],
          description=publish["description"], category=publish["category"], expected_outcome="",
          starts_on=starts_on, ends_on=ends_on, deadline=day_end(ends_on), state=state, version=len(path) + 1,
          definition_name="project", definition_version=1, created_by_id=staff_id,
          unit_id=unit_id if taken else None, pairing_id=pairing_id if taken else None,
          taken_by_id=liaison_id if taken else None,
          taken_at=values["taken_at"], member_count=values["member_count"], hours=values["hours"],
          reported_at=values["reported_at"], done_at=values["done_at"], last_reason=values["last_reason"],
          created_at=created, updated_at=t)


def registrations(w: Writer, ids: Ids, rng, *, residents: dict, grids: dict, staff: dict, now, chunk: int = 5000,
                  progress=None) -> dict:
    """Every member's 报到 (REGISTRATION_PATHS), written as the registration process writes it: the rows,
    their chains (apply, accept, renew, end, decline, withdraw, lapse), and `users.community_id` cleared
    for the members with no active registration. `progress(n)`: members done."""
    heads: dict = {}
    this_year = district_year(now)
    year_start = district_midnight(this_year, 1, 1)
    this_year_days = max((now - year_start).total_seconds() / 86400 - 2, 0.1)
    communities = sorted(residents)
    counts = {"registrations": 0, "registered": 0}
    unregistered, done = [], 0

    def event(registration_id, trigger, from_state, to_state, actor, at, payload):
        _chain_event(w, ids, heads, subject_type="registration", subject_id=registration_id, trigger=trigger,
                     from_state=from_state, to_state=to_state, actor_id=actor[0], actor_role=actor[1], at=at,
                     payload=payload, definition=REGISTRATION_DEFINITION)

    def register(member_id, community_id, path, applied_at):
        """One registration: its events along `path` (triggers after apply), then its row."""
        registration_id, ids.registration = ids.registration, ids.registration + 1
        member, staff_id = (member_id, "member"), staff[community_id]
        skills, availability = rng.choice(SKILLS), rng.choice(AVAILABILITY)
        row = dict(id=registration_id, member_id=member_id, community_id=community_id, grid_id=None, state="applied",
                   version=1, definition_name="registration", definition_version=1, skills=skills,
                   availability=availability, households=None, accepted_by_id=None, accepted_at=None, term_year=None,
                   term_ends_at=None, last_reason=None, created_at=applied_at, updated_at=applied_at)
        event(registration_id, "apply", "new", "applied", member, applied_at,
              {"community_id": community_id, "skills": skills, "availability": availability})
        t = applied_at
        for trigger, at in path:
            t = at
            if trigger == "accept":
                grid_id, households = rng.choice(grids[community_id]), rng.randint(0, 5)
                year = district_year(t)
                row.update(state="active", grid_id=grid_id, households=households, accepted_by_id=staff_id,
                           accepted_at=t, term_year=year, term_ends_at=year_end(year))
                event(registration_id, "accept", "applied", "active", (staff_id, "staff"), t,
                      {"grid_id": grid_id, "households": households, "community_id": community_id, "term_year": year})
            elif trigger == "renew":
                row.update(term_year=row["term_year"] + 1, term_ends_at=year_end(row["term_year"] + 1))
                event(registration_id, "renew", "active", "active", member, t, {"term_year": row["term_year"]})
            elif trigger == "end":
                row.update(state="ended", last_reason="moved")
                event(registration_id, "end", "active", "ended", member, t, {"reason": "moved"})
            elif trigger == "lapse":
                row.update(state="lapsed")
                event(registration_id, "lapse", "active", "lapsed", (None, "system"), t, {"timer": "lapse"})
            elif trigger == "decline":
                row.update(state="declined", last_reason="请向居住地所在社区申请报到")
                event(registration_id, "decline", "applied", "declined", (staff_id, "staff"), t,
                      {"reason": row["last_reason"]})
            elif trigger == "withdraw":
                row.update(state="withdrawn")
                event(registration_id, "withdraw", "applied", "withdrawn", member, t, {})
            row["version"] += 1
        row["updated_at"] = t
        w.add("registrations", **row)
        counts["registrations"] += 1

    def this_year_time(after=None):
        start = after or year_start
        return start + timedelta(days=rng.uniform(0.1, max((now - start).total_seconds() / 86400 - 1, 0.2)))

    members = [(member_id, community_id) for community_id in communities for member_id, _ in residents[community_id]]
    members.sort()
    for n, (member_id, community_id) in enumerate(members):
        roll, acc = rng.random(), 0.0
        for share, what in REGISTRATION_PATHS:
            acc += share
            if roll <= acc:
                break
        if what == "active":
            applied = year_start + timedelta(days=rng.uniform(0, this_year_days))
            register(member_id, community_id, [("accept", applied + timedelta(days=rng.uniform(0.1, 1)))], applied)
        elif what == "renewed":  # accepted last year, renewed in December for this year
            applied = district_midnight(this_year - 1, 1, 1) + timedelta(days=rng.uniform(10, 300))
            register(member_id, community_id, [("accept", applied + timedelta(days=2)),
                                               ("renew", renewal_opens(this_year - 1) + timedelta(days=rng.uniform(0, 25)))],
                     applied)
        elif what == "moved":  # ended where they lived before, then registered here
            before = communities[(communities.index(community_id) + 1 + n % 7) % len(communities)]
            applied = district_midnight(this_year - 1, 1, 1) + timedelta(days=rng.uniform(10, 200))
            moved = applied + timedelta(days=rng.uniform(30, 120))
            register(member_id, before, [("accept", applied + timedelta(days=2)), ("end", moved)], applied)
            again = max(moved + timedelta(days=1), year_start + timedelta(hours=1))
            register(member_id, community_id, [("accept", again + timedelta(days=1))], again)
        elif what == "applied":  # waiting for the community's staff
            register(member_id, community_id, [], now - timedelta(days=rng.uniform(0.1, 10)))
        elif what == "declined":
            applied = this_year_time()
            register(member_id, community_id, [("decline", min(applied + timedelta(days=2), now))], applied)
        elif what == "withdrawn":
            applied = this_year_time()
            register(member_id, community_id, [("withdraw", min(applied + timedelta(days=1), now))], applied)
        else:  # lapsed: last year's term, never renewed
            applied = district_midnight(this_year - 1, 1, 1) + timedelta(days=rng.uniform(10, 300))
            register(member_id, community_id, [("accept", applied + timedelta(days=2)),
                                               ("lapse", year_end(this_year - 1) + timedelta(minutes=1))], applied)
        if what in ("active", "renewed", "moved"):
            counts["registered"] += 1
        else:
            unregistered.append(member_id)
        done += 1
        if done % chunk == 0:
            w.flush()
            heads.clear()  # every registration's chain was written whole
            if progress:
                progress(chunk)
    w.flush()
    if progress:
        progress(done % chunk)
    users = db.metadata.tables["users"]
    for start in range(0, len(unregistered), 10_000):  # their community follows the registration: none
        w.session.execute(users.update().where(users.c.id.in_(unregistered[start:start + 10_000]))
                          .values(community_id=None))
    return counts
