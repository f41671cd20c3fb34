"""What was exported and imported for a user: counts, conflicts and failures (CLI, API
and the status page show the same)."""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import func, or_, select

from kenning.db import Database, File, Mount, XmpFile
from kenning.xmp.export import setting

LISTED = 200  # conflicts and failures listed at most


def xmp_status(db: Database, user_id: int) -> dict:
    with db.session() as session:
        mine = (select(XmpFile, Mount.path, File.rel_path)
                .join(File, File.id == XmpFile.file_id).join(Mount, Mount.id == File.mount_id)
                .where(Mount.user_id == user_id))
        exported = session.scalar(select(func.count()).select_from(
            mine.where(XmpFile.export_digest.is_not(None)).subquery()))
        last = session.scalar(select(func.max(XmpFile.exported_at)).join(
            File, File.id == XmpFile.file_id).join(Mount, Mount.id == File.mount_id)
            .where(Mount.user_id == user_id))
        names = tags = drawn = 0
        conflicts, failed = [], []
        for row, mount_path, rel in session.execute(
                mine.where(or_(XmpFile.import_error.is_not(None),
                               XmpFile.import_report.not_in(("{}", ""))))
                .order_by(File.rel_path)):
            path = f"{mount_path.rstrip('/')}/{rel}"
            if row.import_error:
                failed.append({"path": path, "reason": row.import_error})
            report = json.loads(row.import_report) if row.import_report else {}
            names += len(report.get("names", []))
            tags += len(report.get("tags", []))
            drawn += report.get("drawn", 0)
            conflicts += [{"path": path, "conflict": text}
                          for text in report.get("conflicts", [])]
    destination = setting(db, user_id)
    return {
        "export": {"files": exported, "last": last.isoformat() if last else None,
                   "setting": asdict(destination) if destination else None},
        "import": {"names": names, "tags": tags, "drawn": drawn,
                   "conflicts": conflicts[:LISTED], "conflict_count": len(conflicts),
                   "failed": failed[:LISTED], "failed_count": len(failed)},
    }
