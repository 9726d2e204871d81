"""Demo data for Laiwu district (莱芜区), made through the services so every chain verifies.

Real towns and villages (from the shipped division list), about thirty district units,
several hundred members, staff for a few dozen communities, supervisors for the district,
one town and one unit, an admin, a few hundred tasks and claims in every state, spread
over the last two months. Deterministic: the same seed gives the same data.

Fixed accounts (password BAODAO_DEMO_PASSWORD, default baodao-demo):
admin; supervisor (district); supervisor_town (凤城街道); supervisor_unit (区教育和体育局);
staff1 (东升社区, 凤城街道); member1, member2 (members registered to 东升社区, different units).

The shared demo password is exempt from the password rules (workflow/identity.py): the loader
sets its hash directly, and no other path can set it. Loading is recorded on the security log
(`load_demo`); `is_demo()` reads that record, and the login page of such an install says it is
a demo.
"""
import random
from datetime import timedelta

from sqlalchemy import func, select

from ..clock import utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import CATEGORIES, SYSTEM, AuditEvent, Community, Town, Unit, User
from . import claims as claim_service
from . import expiry, places, security_log
from . import tasks as task_service
from .tx import write_transaction

UNIT_NAMES = [
    "区委组织部", "区委宣传部", "区委统战部", "区委政法委", "区直机关工委", "区委办公室", "区政府办公室",
    "区发展和改革局", "区教育和体育局", "区科学技术局", "区工业和信息化局", "区民政局", "区司法局",
    "区财政局", "区人力资源和社会保障局", "区自然资源局", "区住房和城乡建设局", "区交通运输局", "区水利局",
    "区农业农村局", "区商务局", "区文化和旅游局", "区卫生健康局", "区退役军人事务局", "区应急管理局",
    "区审计局", "区市场监督管理局", "区统计局", "区医疗保障局", "区行政审批服务局", "区信访局",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇鹏飞晓东海燕"
TASK_TEMPLATES = {
    "微心愿": ["为独居老人购买取暖用品", "帮助留守儿童实现读书心愿", "为困难家庭送米面油"],
    "政策宣讲": ["宣讲医保缴费新政策", "讲解养老保险认证流程", "入户宣传防范电信诈骗"],
    "环境整治": ["清理小区楼道杂物", "村内主干道卫生清扫", "河道沿岸垃圾清理"],
    "助老助残": ["陪同行动不便老人就医", "为残疾人家庭打扫卫生", "帮助高龄老人代购药品"],
    "矛盾调解": ["调解邻里停车纠纷", "协助化解宅基地边界争议", "调解物业费缴纳矛盾"],
    "乡村振兴帮扶": ["帮助果农网上销售苹果", "为蔬菜大棚户讲解种植技术", "协助村集体整理生姜销售台账"],
    "志愿服务": ["社区疫苗接种现场秩序维护", "周末文明交通劝导", "社区图书室整理图书"],
}
SUMMARIES = ["已入户完成，居民满意。", "按需求完成服务，并留下联系方式便于后续跟进。", "与网格员一同完成，现场情况已向社区说明。"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def is_loaded() -> bool:
    return (db.session.scalar(select(func.count(User.id))) or 0) > 0


def is_demo() -> bool:
    """Was the demo data loaded into this database (so its accounts share a published password)?"""
    return db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.subject_type == security_log.SUBJECT_TYPE,
                                    AuditEvent.trigger == "load_demo").limit(1)) is not None


def load(password: str = "baodao-demo", *, seed: int = 370116, members: int = 400, tasks: int = 240,
         progress=None) -> dict:
    """Load the demo. Refuses (DomainError) when the database already has users."""
    if is_loaded():
        raise DomainError("the database already has users; demo data goes only into an empty database")
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    places.load_divisions()
    people = _people(rng, password, members)
    counts = _history(rng, people, now, tasks, progress)
    counts["expired"] = expiry.expire_claims(now=now).expired
    counts["users"] = sum(len(v) if isinstance(v, list) else 1 for v in people.values())
    with write_transaction() as session:
        security_log.record(session, SYSTEM, "load_demo", details={"users": counts["users"], "seed": seed})
    return counts


def _people(rng, password, members) -> dict:
    with write_transaction() as session:
        one_hash = User(username="x", name="x", role="admin")
        one_hash.set_password(password)  # one scrypt hash shared by every demo account: they share a password
        pw = one_hash.password_hash
        units = [Unit(code=f"lw{i + 1:03d}", name=name) for i, name in enumerate(UNIT_NAMES)]
        session.add_all(units)
        fengcheng = session.scalar(select(Town).where(Town.name == "凤城街道"))
        dongsheng = session.scalar(select(Community).where(Community.code == "370116001001"))
        by_town = {t.code: t for t in session.scalars(select(Town))}
        # Staffed communities: 12 in 凤城街道 (东升 first) and 3 in each of six other towns.
        staffed = list(session.scalars(select(Community).where(Community.town_id == fengcheng.id)
                                       .order_by(Community.code).limit(12)))
        for code in ("370116002", "370116003", "370116004", "370116005", "370116100", "370116101"):
            town = by_town.get(code)
            if town is not None:
                staffed += list(session.scalars(select(Community).where(Community.town_id == town.id)
                                                .order_by(Community.code).limit(3)))
        edu = next(u for u in units if u.name == "区教育和体育局")
        org = next(u for u in units if u.name == "区委组织部")

        def user(username, name, role, **kw):
            u = User(username=username, name=name, role=role, password_hash=pw, **kw)
            session.add(u)
            return u

        people = {
            "admin": user("admin", "平台管理员", "admin"),
            "supervisor": user("supervisor", "区直机关工委督导", "supervisor"),
            "supervisor_town": user("supervisor_town", "凤城街道督导", "supervisor", scope_town=fengcheng),
            "supervisor_unit": user("supervisor_unit", "教体局督导", "supervisor", unit=edu),
            "staff": [user("staff1", "东升社区 " + _name(rng), "staff", community=dongsheng)],
            "members": [
                user("member1", _name(rng), "member", unit=org, community=dongsheng),
                user("member2", _name(rng), "member", unit=edu, community=dongsheng),
            ],
        }
        for i, community in enumerate(staffed[1:], start=2):
            people["staff"].append(user(f"staff{i}", f"{community.short_name} {_name(rng)}", "staff",
                                        community=community))
        for i in range(3, members + 1):
            # Two in three members live in a staffed community, so tasks find claimants.
            community = rng.choice(staffed) if rng.random() < 0.67 else rng.choice(staffed[:12])
            people["members"].append(user(f"member{i}", _name(rng), "member", unit=rng.choice(units),
                                          community=community))
    return people


def _run(fn, *args, **kw):
    """Demo steps may be refused by a guard (a member at the limit, a full task): skip those."""
    try:
        return fn(*args, **kw)
    except DomainError:
        return None


def _history(rng, people, now, n_tasks, progress) -> dict:
    staff, members = people["staff"], people["members"]
    residents: dict[int, list] = {}
    for m in members:
        residents.setdefault(m.community_id, []).append(m)
    counts = {"tasks": 0, "claims": 0}
    for i in range(n_tasks):
        worker = staff[0] if i < 24 else rng.choice(staff)
        category = rng.choice(CATEGORIES)
        start = now - timedelta(days=rng.uniform(1, 60))
        deadline = start + timedelta(days=rng.uniform(4, 45))
        task = task_service.create_task(worker, {
            "title": rng.choice(TASK_TEMPLATES[category]), "category": category,
            "description": "社区需求，欢迎在职党员认领。", "address": f"{worker.community.short_name}党群服务中心集合",
            "household_note": f"联系人{_name(rng)}，电话 138{rng.randint(10000000, 99999999)}，{rng.randint(1, 30)}号楼",
            "capacity": rng.choice((1, 1, 2, 2, 3, 5)), "points": rng.choice((5, 10, 10, 15, 20, 30)),
            "deadline": deadline.isoformat(),
            # talks and volunteer days happen at a set time (09:00 Beijing, two days before the deadline)
            "activity_at": ((deadline - timedelta(days=2)).replace(hour=1, minute=0, second=0, microsecond=0)
                            .isoformat() if category in ("政策宣讲", "志愿服务") else None),
        }, now=start)
        counts["tasks"] += 1
        if i % 40 == 39:
            continue  # a few drafts stay drafts
        task_service.publish_task(task.id, worker, now=start + timedelta(minutes=30))
        claimants = [m for m in residents.get(worker.community_id, []) if m.username not in ("member1", "member2")]
        if i < 6:
            claimants = [people["members"][i % 2]] + claimants
        rng.shuffle(claimants)
        t = start + timedelta(hours=1)
        for member in claimants[: rng.randint(1 if i < 6 else 0, task.capacity)]:
            t += timedelta(hours=rng.uniform(0.5, 12))
            if t >= deadline or t >= now:
                break
            claim = _run(claim_service.start_claim, task.id, member, now=t)
            if claim is not None:
                counts["claims"] += 1
                _advance(rng, claim, member, worker, t, min(deadline, now))
        if i % 50 == 7:
            _run(task_service.cancel_task, task.id, worker, {"reason": "需求已由村委会自行解决"},
                 now=min(deadline, now) - timedelta(minutes=5))
        if progress is not None:
            progress(1)
    _fixed_open_tasks(people["staff"][0], now)
    return counts


def _advance(rng, claim, member, worker, t, limit) -> None:
    """Walk a claim some way through the process; where it stops is random."""
    def step(trigger, actor, data=None):
        nonlocal t
        t += timedelta(hours=rng.uniform(1, 30))
        if t >= limit:
            return False
        return _run(claim_service.fire, claim.id, trigger, actor, data or {}, now=t) is not None

    roll = rng.random()
    if roll < 0.08:
        step("withdraw", member, {"reason": "临时出差"})
        return
    if not step("check_in", member, {"note": "已与住户联系，上门了解情况。"}) or roll < 0.2:
        return
    if not step("submit_report", member, {"summary": rng.choice(SUMMARIES), "hours": rng.choice((1, 1.5, 2, 3, 4)),
                                           "households": rng.randint(1, 4)}) or roll < 0.3:
        return
    if roll < 0.45:
        if step("return", worker, {"reason": "请补充服务前后的情况说明。"}) and roll > 0.38:
            step("check_in", member, {"note": "补充走访，完善情况。"})
            step("submit_report", member, {"summary": "已补充说明。", "hours": 1, "households": 1})
        return
    if roll < 0.52:
        step("reject", worker, {"reason": "与需求内容不符。"})
        return
    step("approve", worker, {"comment": "情况属实。"})


def _fixed_open_tasks(staff1, now) -> None:
    """东升社区 always offers open tasks with room for two or more and a month and more to go, and
    members see whom to call there (a demo number)."""
    places.update_contact(staff1, {"contact_name": "东升社区党群服务中心", "contact_phone": "0634-6218000"})
    for title, category in (("社区老年食堂助餐志愿服务", "助老助残"), ("垃圾分类入户宣传", "环境整治")):
        task = task_service.create_task(staff1, {
            "title": title, "category": category, "description": "每周二、四上午，协助社区开展服务。",
            "address": "东升社区党群服务中心", "household_note": "联系社区书记，电话 0634-6218xxx",
            "capacity": 5, "points": 10, "deadline": (now + timedelta(days=45)).isoformat(),
            "activity_at": (now + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0).isoformat(),
        }, now=now - timedelta(hours=2))
        task_service.publish_task(task.id, staff1, now=now - timedelta(hours=1))
