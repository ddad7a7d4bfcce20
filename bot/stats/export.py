"""`export cases`: one partner's closed cases in the standard schema (docs/export.md,
docs/export.schema.json), as JSON Lines and CSV, for the organization's own records and forms.

Only what the person agreed to share goes out: the intake answers (topics, age band, prefecture,
municipality) only when they said yes to passing them on (`share_consent`); never a message, a note,
a handle, a pseudonym or a counselor's name. Each case has a `case_ref`, an HMAC of the partner and
the case under the deployment's key: the same case has the same reference in every export (so a
partner can update its records), and it cannot be linked to the person or to another partner's.

Every export is reported to `audit_export` before anything is written: the seam where the audit
trail (issue 11) records who exported what; today it logs one line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from storage.case_facts import CaseFacts
from storage.keys import Keyring

log = logging.getLogger(__name__)

SCHEMA_ID = "https://tsunagu.example/schemas/case-export-1.json"
SCHEMA_VERSION = "tsunagu.case-export/1"
FIELDS = ("schema", "case_ref", "org", "opened_at", "accepted_at", "closed_at", "waited_minutes",
          "first_reply_minutes", "length_minutes", "messages", "outcome", "urgent", "language", "followup",
          "consented", "topics", "age_band", "prefecture", "municipality")
CONSENTED_FIELDS = ("topics", "age_band", "prefecture", "municipality")


@dataclass(frozen=True)
class ExportEvent:
    """What an export hands out, for the audit trail: never the cases themselves."""

    org: str
    start: date
    end: date  # exclusive
    cases: int
    consented: int
    formats: tuple[str, ...]
    at: datetime


def audit_export(event: ExportEvent) -> None:
    """The audit trail's seam (issue 11): called once per export, before a file is written."""
    log.info("export of %s: %d closed cases (%d with consent) from %s to %s as %s", event.org, event.cases,
             event.consented, event.start, event.end, "+".join(event.formats))


def _minutes(span: timedelta | None) -> float | None:
    return round(span.total_seconds() / 60, 1) if span is not None else None


def _followup(status: str | None) -> str | None:
    if status is None:
        return None
    if status in ("scheduled", "asked", "done"):
        return "kept"
    if status == "cancelled":
        return "declined"
    return "offered"


def record_of(facts: CaseFacts, *, keyring: Keyring, tz: tzinfo) -> dict[str, Any]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).replace(second=0, microsecond=0).isoformat() if moment else None

    answers = facts.answers if facts.share_consent else {}
    org = facts.org_id or ""
    return {
        "schema": SCHEMA_VERSION,
        "case_ref": keyring.pseudonym("export-case", f"{org}:{facts.id}")[:20],
        "org": org,
        "opened_at": stamp(facts.queued_at),
        "accepted_at": stamp(facts.accepted_at),
        "closed_at": stamp(facts.closed_at),
        "waited_minutes": _minutes(facts.waited),
        "first_reply_minutes": _minutes(facts.first_reply),
        "length_minutes": _minutes(facts.length),
        "messages": facts.messages,
        "outcome": facts.outcome or "other",
        "urgent": facts.urgent,
        "language": facts.language,
        "followup": _followup(facts.followup),
        "consented": facts.share_consent,
        "topics": list(facts.topics) if facts.share_consent else None,
        "age_band": answers.get("age_band") if facts.share_consent else None,
        "prefecture": answers.get("prefecture") if facts.share_consent else None,
        "municipality": answers.get("municipality") if facts.share_consent else None,
    }


def to_jsonl(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def to_csv(records: Sequence[dict[str, Any]]) -> str:
    """The same fields, one column each; topics joined by ';'; empty for null; true/false as words."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in records:
        row = []
        for field in FIELDS:
            value = r[field]
            if value is None:
                row.append("")
            elif isinstance(value, bool):
                row.append("true" if value else "false")
            elif isinstance(value, list):
                row.append(";".join(value))
            else:
                row.append(str(value))
        writer.writerow(row)
    return out.getvalue()


def export_records(facts: Sequence[CaseFacts], *, org: str, start: date, end: date, keyring: Keyring, tz: tzinfo,
                   formats: tuple[str, ...], now: datetime,
                   audit: Callable[[ExportEvent], None] = audit_export) -> list[dict[str, Any]]:
    """The records of the partner's closed cases, after telling the audit trail."""
    mine = [f for f in facts if f.org_id == org and f.status == "closed"]
    audit(ExportEvent(org=org, start=start, end=end, cases=len(mine), consented=sum(f.share_consent for f in mine),
                      formats=formats, at=now))
    return [record_of(f, keyring=keyring, tz=tz) for f in mine]
