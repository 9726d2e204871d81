"""SQLAlchemy models, one module per aggregate. Import from here."""
from .audit import AuditEvent, Checkpoint
from .certificates import Certificate
from .claims import Claim, Report, Visit
from .flags import FlagReview
from .idempotency import IdempotencyKey
from .notifications import (OUTBOX_STATUSES, Notification, NotificationPreference, NotificationSettings,
                            OutboxMessage, TimerFiring)
from .pairings import RESOURCE_CATEGORIES, Pairing, Project, ProjectReport, UnitResource
from .people import ROLES, SYSTEM, SystemActor, Unit, User
from .personal import AuditErasure, AuditPersonalValue, RetentionRun
from .places import Community, Grid, Town
from .points import PointsEntry, UnitFeedback
from .registrations import Registration
from .stats import StatsClaims, StatsRefresh, StatsUnits
from .tasks import CATEGORIES, TASK_LIVE_STATUSES, TASK_STATUSES, HouseholdNote, HouseholdNoteRead, Task
from .tokens import ApiToken, LoginAttempt
from .uploads import Upload

__all__ = [
    "AuditEvent", "Checkpoint", "Certificate", "Claim", "Report", "Visit", "IdempotencyKey", "ROLES", "SYSTEM",
    "SystemActor", "Unit", "User", "Community", "Grid", "Town", "PointsEntry", "UnitFeedback",
    "CATEGORIES", "TASK_LIVE_STATUSES", "TASK_STATUSES", "HouseholdNote", "HouseholdNoteRead",
    "Task", "Upload", "ApiToken", "LoginAttempt", "Registration", "StatsClaims", "StatsUnits", "StatsRefresh",
    "Notification", "NotificationPreference", "NotificationSettings", "OutboxMessage", "TimerFiring", "OUTBOX_STATUSES",
    "AuditPersonalValue", "AuditErasure", "RetentionRun", "Pairing", "Project", "ProjectReport", "UnitResource",
    "RESOURCE_CATEGORIES", "FlagReview",
]
