"""Demo data for Laiwu district (莱芜区), made through the services so every chain verifies.

Real towns and villages (from the shipped division list), about thirty district units,
several hundred members, staff for a few dozen communities, supervisors for the district,
one town and one unit, an admin, a few hundred tasks and claims in every state, spread
over the last two months. Deterministic: the same seed gives the same data.

Fixed accounts (password BAODAO_DEMO_PASSWORD, default baodao-demo):
admin; supervisor (district); supervisor_town (凤城街道); supervisor_unit (区教育和体育局);
staff1 (东升社区, 凤城街道); member1, member2 (members registered to 东升社区, different units);
member3 (lives in 东升社区, of 区教育和体育局, not registered yet); liaison1 (区委组织部, member1's
unit), liaison2 (区教育和体育局) and a few more units' liaisons.

The unit's 报到 (pairings, projects, resources), through the services as well: 区委组织部 is paired
with 东升社区 (active) and another 凤城街道 community; 区教育和体育局's proposal to 东升社区 waits for
staff1; other units are paired with other staffed communities (one declined, one ended); 东升社区
has projects in every state (open, under way with progress reports and a task of its own,
reported, done, cancelled); several units list their resources.

Registrations (报到), also through the services: every staffed community has grids (第一网格,
第二网格, …); most members applied to the community they live in and were accepted into a grid;
a few applications wait in 东升社区 for staff1; a few members of each unit never registered;
a few registrations ended (moved, left the unit), lapsed last year, were declined or withdrawn.

The shared demo password is exempt from the password rules (workflow/identity.py): the loader
sets its hash directly, and no other path can set it. Loading is recorded on the security log
(`load_demo`); `is_demo()` reads that record, and the login page of such an install says it is
a demo.
"""
import random
from datetime import timedelta

from sqlalchemy import func, select

from ..clock import district_midnight, district_year, utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import CATEGORIES, SYSTEM, AuditEvent, Community, Town, Unit, User
from . import claims as claim_service
from . import expiry, grids, pairings, places, projects, registrations, resources, security_log
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
    counts = _registrations(rng, people, now)
    counts.update(_history(rng, people, now, tasks, progress))
    counts.update(_unit_work(people, now))
    run = expiry.expire_claims(now=now)
    counts["expired"], counts["registrations lapsed"] = run.expired, run.registrations_lapsed
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
            # A member's community is their registration's (_registrations below); `homes` is
            # where each one lives, whether or not they have reported there.
            "members": [
                user("member1", _name(rng), "member", unit=org),
                user("member2", _name(rng), "member", unit=edu),
            ],
            "homes": {"member1": dongsheng, "member2": dongsheng},
        }
        # The units' liaisons (联络员): liaison1 acts for 区委组织部 (member1's unit), liaison2 for 区教育和体育局.
        people["liaisons"] = [
            user(f"liaison{i}", f"{unit_name}联络员", "liaison", unit=next(u for u in units if u.name == unit_name))
            for i, unit_name in enumerate(LIAISON_UNITS, start=1)]
        for i, community in enumerate(staffed[1:], start=2):
            people["staff"].append(user(f"staff{i}", f"{community.short_name} {_name(rng)}", "staff",
                                        community=community))
        for i in range(3, members + 1):
            # Two in three members live in a staffed community, so tasks find claimants.
            community = rng.choice(staffed) if rng.random() < 0.67 else rng.choice(staffed[:12])
            unit = rng.choice(units)
            if i == 3:  # member3: lives in 东升社区, of 区教育和体育局, not registered yet (try 我的报到)
                community, unit = dongsheng, edu
            people["members"].append(user(f"member{i}", _name(rng), "member", unit=unit))
            people["homes"][f"member{i}"] = community
        people["staffed"] = staffed
    return people


GRID_NAMES = ("第一网格", "第二网格", "第三网格", "第四网格")
LIAISON_UNITS = ("区委组织部", "区教育和体育局", "区司法局", "区卫生健康局", "区民政局", "区文化和旅游局")


def _registrations(rng, people, now) -> dict:
    """Grids for every staffed community, and each member's registration story (see the module)."""
    staff_of = {s.community_id: s for s in people["staff"]}
    grid_ids: dict[int, list[int]] = {}
    for community in people["staffed"]:
        names = GRID_NAMES[:3] if community.code == "370116001001" else GRID_NAMES[:rng.choice((2, 3, 3, 4))]
        grid_ids[community.id] = [grids.add_grid(staff_of[community.id], community.id, n).grid.id for n in names]
    homes, members = people["homes"], people["members"]
    this_year = district_midnight(district_year(now), 1, 1)  # terms accepted this year have not lapsed

    def when(days_back: float):
        """A time `days_back` ago, within this calendar year (Beijing), before now."""
        return min(max(now - timedelta(days=days_back), this_year + timedelta(minutes=10)), now - timedelta(minutes=5))

    def join(member, community, at, *, grid=None):
        """Apply at `at`, accepted by the community's staff a few hours later into a grid."""
        applied = registrations.apply(member, {"community_id": community.id, "skills": rng.choice(SKILLS),
                                               "availability": rng.choice(TIMES)}, now=at)
        accepted_at = min(at + timedelta(hours=rng.uniform(1, 30)), now - timedelta(minutes=1))
        grid = grid or rng.choice(grid_ids[community.id])
        registrations.fire(applied.id, "accept", staff_of[community.id],
                           {"grid_id": grid, "households": rng.randint(0, 5), "comment": "欢迎报到。"},
                           now=max(accepted_at, at))
        return applied.id

    counts = {"grids": sum(len(v) for v in grid_ids.values()), "registrations": 0}
    by_username = {m.username: m for m in members}
    dongsheng = homes["member1"]
    join(by_username["member1"], dongsheng, when(55), grid=grid_ids[dongsheng.id][0])
    join(by_username["member2"], dongsheng, when(50), grid=grid_ids[dongsheng.id][1])
    rest = [m for m in members if m.username not in ("member1", "member2")]
    never = {"member3"}
    for unit_id in sorted({m.unit_id for m in rest}):
        of_unit = [m.username for m in rest if m.unit_id == unit_id]
        never.update(rng.sample(of_unit, min(len(of_unit), rng.choice((1, 2)))))
    waiting = [m for m in rest if homes[m.username].id == dongsheng.id and m.username not in never][:4]
    special = [m for m in rest if m.username not in never and m not in waiting]
    lapsed, ended, moved, declined, withdrawn = special[:3], special[3:4], special[4:6], special[6:7], special[7:8]
    for member in waiting:  # staff1's applications to review
        registrations.apply(member, {"community_id": dongsheng.id, "skills": rng.choice(SKILLS)},
                            now=now - timedelta(hours=rng.uniform(2, 72)))
    for member in lapsed:  # accepted last year, never renewed: the year-end run lapses them
        last_year = this_year - timedelta(days=rng.uniform(40, 200))
        join(member, homes[member.username], last_year)
    for member in ended:  # left the unit: no registration now
        ident = join(member, homes[member.username], when(45))
        registrations.fire(ident, "end", member, {"reason": "left_unit"}, now=when(10))
    for member in moved:  # moved house: end here, then accepted in the new community
        ident = join(member, homes[member.username], when(58))
        registrations.fire(ident, "end", member, {"reason": "moved", "note": "搬家"}, now=when(30))
        new_home = rng.choice([c for c in people["staffed"] if c.id != homes[member.username].id])
        homes[member.username] = new_home
        join(member, new_home, when(29))
    for member in declined:  # applied to the wrong community, declined, then accepted at home
        wrong = rng.choice([c for c in people["staffed"] if c.id != homes[member.username].id])
        ident = registrations.apply(member, {"community_id": wrong.id}, now=when(40)).id
        registrations.fire(ident, "decline", staff_of[wrong.id], {"reason": "经核实不在本社区居住，请向居住地社区报到。"},
                           now=when(39))
        join(member, homes[member.username], when(38))
    for member in withdrawn:  # withdrew; has not applied again
        ident = registrations.apply(member, {"community_id": homes[member.username].id}, now=when(20)).id
        registrations.fire(ident, "withdraw", member, {}, now=when(19))
    done = set(never) | {m.username for m in waiting + lapsed + ended + moved + declined + withdrawn}
    for member in rest:
        if member.username not in done:
            join(member, homes[member.username], when(rng.uniform(2, 80)))
    counts["registrations"] = len(members) - len(never)
    return counts


SKILLS = ("政策宣讲", "法律咨询", "医疗健康", "文艺", "电脑维修", "", "")
TIMES = ("周末", "工作日晚上", "节假日", "")


def _run(fn, *args, **kw):
    """Demo steps may be refused by a guard (a member at the limit, a full task): skip those."""
    try:
        return fn(*args, **kw)
    except DomainError:
        return None


def _history(rng, people, now, n_tasks, progress) -> dict:
    staff, members = people["staff"], people["members"]
    residents: dict[int, list] = {}
    for m in members:  # members help where they live (registered there or not): claims are not gated
        residents.setdefault(people["homes"][m.username].id, []).append(m)
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


# -- the unit's 报到: pairings, resources, projects ---------------------------------------------------

RESOURCES = {
    "区委组织部": [("党课辅导进社区", "政策宣讲", "由部机关党员讲授专题党课，结合基层党建实际。", "每季度一次"),
               ("周末党员志愿服务队", "志愿服务", "部机关在职党员周末参加社区志愿服务，每次 10 人左右。", "每月两次")],
    "区教育和体育局": [("青少年课业辅导", "教育培训", "教师党员为社区青少年辅导作业、开展阅读活动。", "寒暑假每周一次"),
                 ("全民健身指导", "文化文艺", "体育教师指导广场舞、太极拳等健身活动。", "每月一次")],
    "区司法局": [("法律咨询进社区", "法律服务", "律师、公证员到社区坐诊，解答婚姻家庭、邻里纠纷、劳动争议等问题。", "每月一次")],
    "区卫生健康局": [("家庭医生健康义诊", "医疗健康", "测血压血糖、慢病随访、用药指导。", "每月一次"),
                ("急救知识培训", "医疗健康", "心肺复苏与海姆立克急救法现场教学。", "每季度一次")],
    "区民政局": [("养老服务政策解读", "政策宣讲", "高龄津贴、特困供养、居家养老服务补贴申领讲解。", "按需")],
}


def _unit_work(people, now) -> dict:
    """Pairings of the demo units with staffed communities, their resources and projects (see the
    module's docstring). Times are spread over the last weeks, before `now`."""
    liaison = {u.unit.name: u for u in people["liaisons"]}
    staffed, staff = people["staffed"], people["staff"]
    staff_of = {s.community_id: s for s in staff}
    dongsheng, staff1 = staffed[0], staff[0]
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    year_end = (ago(0) + timedelta(days=540)).date().isoformat()

    def pair(unit, community, *, days_back, outcome="accept", reason=None):
        proposal = pairings.propose(liaison[unit], {"community_id": community.id, "ends_on": year_end,
                                                    "agreement": AGREEMENTS[unit]}, now=ago(days_back))
        if outcome == "accept":
            pairings.fire(proposal.id, "accept", staff_of[community.id], {"comment": "欢迎结对共建。"},
                          now=ago(days_back - 2))
        elif outcome == "decline":
            pairings.fire(proposal.id, "decline", staff_of[community.id], {"reason": reason}, now=ago(days_back - 2))
        elif outcome == "end":
            pairings.fire(proposal.id, "accept", staff_of[community.id], {}, now=ago(days_back - 2))
            pairings.fire(proposal.id, "end", liaison[unit], {"reason": reason}, now=ago(days_back - 20))
        return proposal

    pair("区委组织部", dongsheng, days_back=50)
    pair("区委组织部", staffed[1], days_back=45)
    pair("区教育和体育局", dongsheng, days_back=1, outcome=None)  # waiting for staff1
    pair("区司法局", staffed[2], days_back=40)
    pair("区卫生健康局", staffed[3], days_back=35)
    pair("区卫生健康局", dongsheng, days_back=30)
    pair("区民政局", staffed[4], days_back=30, outcome="decline", reason="本年度结对单位已满，明年再议。")
    pair("区文化和旅游局", staffed[5], days_back=60, outcome="end", reason="单位职能调整，改由其他单位结对。")
    counts = {"pairings": 8, "resources": 0}
    for unit, lines in RESOURCES.items():
        for title, category, description, frequency in lines:
            resources.add_resource(liaison[unit], liaison[unit].unit_id, {
                "title": title, "category": category, "description": description, "frequency": frequency,
                "contact": f"{unit}办公室 0634-62{len(title):02d}{len(unit):03d}"}, now=ago(40))
            counts["resources"] += 1

    def publish(title, description, category, *, days_back, weeks, outcome="", staff_member=staff1):
        today = (now + timedelta(hours=8)).date()  # Beijing's
        project = projects.publish(staff_member, {
            "title": title, "description": description, "category": category,
            "expected_outcome": "形成可持续的共建机制，居民满意。",
            "starts_on": (today - timedelta(days=min(days_back, 300))).isoformat(),
            "ends_on": (today + timedelta(weeks=weeks)).isoformat()}, now=ago(days_back))
        return project.id

    org = liaison["区委组织部"]
    publish("社区老年大学书法班", "每周二下午开设书法课，需要单位选派有书法特长的党员授课。", "文化文艺", days_back=6, weeks=10)
    publish("楼道环境整治月", "组织党员清理 3 个老旧小区楼道杂物，张贴文明标语。", "环境整治", days_back=3, weeks=4)
    under_way = publish("“红色管家”物业服务提升", "协助老旧小区成立业主委员会，建立物业服务议事机制。", "其他",
                        days_back=40, weeks=8)
    projects.fire(under_way, "take", org, {}, now=ago(38))
    projects.fire(under_way, "report_progress", org, {"text": "已走访 2 个小区，召开居民议事会 1 次，收集意见 36 条。"},
                  now=ago(25))
    projects.fire(under_way, "report_progress", org, {"text": "协助 1 个小区完成业委会选举筹备。"}, now=ago(10))
    task = task_service.create_task(staff1, {
        "title": "协助业委会选举入户宣传", "category": "政策宣讲", "description": "“红色管家”项目的入户宣传，发放选举须知。",
        "address": "东升社区党群服务中心集合", "capacity": 4, "points": 10,
        "deadline": (now + timedelta(days=20)).isoformat(), "project_id": under_way}, now=ago(9))
    task_service.publish_task(task.id, staff1, now=ago(9))
    reported = publish("党员志愿者助老服务", "为辖区 20 户独居老人提供每周上门探访。", "助老助残", days_back=70, weeks=2)
    projects.fire(reported, "take", org, {}, now=ago(68))
    projects.fire(reported, "report_progress", org, {"text": "结对探访独居老人 20 户，建立联系卡。"}, now=ago(40))
    projects.fire(reported, "report", org, {"summary": "完成 20 户独居老人每周探访，协助解决就医、代购等需求 15 件。",
                                            "members": "部机关党员 12 人", "member_count": 12, "hours": 96}, now=ago(2))
    done = publish("社区党课进万家", "面向居民党员开设专题党课 4 次。", "政策宣讲", days_back=90, weeks=1)
    projects.fire(done, "take", org, {}, now=ago(88))
    projects.fire(done, "report", org, {"summary": "开展专题党课 4 次，覆盖居民党员 160 人次。",
                                        "members": "部机关党员 6 人", "member_count": 6, "hours": 32}, now=ago(30))
    projects.fire(done, "approve", staff1, {"comment": "效果很好。"}, now=ago(28))
    cancelled = publish("社区菜园建设", "利用闲置空地建设社区菜园。", "乡村振兴帮扶", days_back=50, weeks=6)
    projects.fire(cancelled, "cancel", staff1, {"reason": "用地规划调整，暂缓建设。"}, now=ago(45))
    health = publish("慢病管理健康讲座", "为社区高血压、糖尿病患者开展健康讲座并建立随访台账。", "医疗健康",
                     days_back=20, weeks=6, staff_member=staff_of[staffed[3].id])
    projects.fire(health, "take", liaison["区卫生健康局"], {}, now=ago(18))
    counts["projects"] = 7
    return counts


AGREEMENTS = {
    "区委组织部": "共同开展党课进社区、党员志愿服务；部机关在职党员到社区报到服务，每年牵头实施 1–2 个共建项目。",
    "区教育和体育局": "开展青少年课业辅导与全民健身指导，寒暑假组织教师党员进社区服务。",
    "区司法局": "每月一次法律咨询进社区，协助化解邻里纠纷。",
    "区卫生健康局": "家庭医生签约服务、健康义诊与急救知识培训。",
    "区民政局": "养老服务政策宣讲，困难群众走访慰问。",
    "区文化和旅游局": "社区文化活动指导，送戏下乡。",
}
