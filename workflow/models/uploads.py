"""Uploaded photos: stored content-addressed (by sha256) outside the web root.

The row records who uploaded it; which claim it belongs to follows from the visits and
reports that name it, so visibility is decided from those (see services.uploads).
"""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class Upload(db.Model):
    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Set when a visit or report first uses the upload; one photo belongs to one claim.
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    # …or the project whose progress or completion report used it (a unit's photos).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the retention run erased the photo with its claim's records: the file is gone
    # (unless another, unerased upload shares its bytes), the row stays for the ids that name it.
    erased_at: Mapped[datetime | None] = mapped_column()
