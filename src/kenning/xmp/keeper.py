"""Sidecars kept current by `kenning serve`: for each user who asked, every KEEP_SECONDS
the sidecars whose content changed (a person renamed, merged or corrected, a tag added
or removed, new results) are written again. Nothing is done while the user's library is
unchanged (its generation markers, db/generation.py)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from kenning.db import Database, User
from kenning.db.generation import current_for
from kenning.db.session import database_trouble
from kenning.xmp.export import export_xmp, setting, users_keeping_current

log = logging.getLogger(__name__)
KEEP_SECONDS = 15.0


class SidecarKeeper:
    def __init__(self, settings, db: Database, seconds: float = KEEP_SECONDS) -> None:
        self.settings, self.db, self.seconds = settings, db, seconds
        self._seen: dict[int, str] = {}

    def check(self) -> int:
        """Export for every user keeping sidecars current whose library changed; returns
        the sidecars written."""
        written = 0
        for user_id in users_keeping_current(self.db):
            with self.db.session() as session:
                marker = current_for(session, user_id)
                name = session.scalar(select(User.name).where(User.id == user_id))
            destination = setting(self.db, user_id)
            key = f"{marker}/{destination}"
            if name is None or destination is None or self._seen.get(user_id) == key:
                continue
            try:
                written += export_xmp(self.settings, self.db, name, destination).written
            except Exception:  # noqa: BLE001 - tried again at the next change
                log.exception("keeping the sidecars of user %s current failed", user_id)
                continue
            self._seen[user_id] = key
        return written

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.seconds):
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any one check
                trouble = database_trouble(exc)
                if trouble is None:
                    log.exception("keeping sidecars current failed; tried again in %d s",
                                  self.seconds)
                else:  # (before, the thread ended here: no sidecar kept until a restart)
                    log.warning("sidecars not kept current now, %s: tried again in %d s",
                                trouble, self.seconds)
