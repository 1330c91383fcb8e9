"""The evidence pack in JSON: complete."""

from __future__ import annotations

import json
from typing import Any

from bot.evidence.records import ChangeRecord
from bot.evidence.render import (
    CONTROL,
    TITLE,
    Renderer,
    copy_spool,
    frozen_json,
    json_default,
    plain,
    record_json,
)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=json_default, ensure_ascii=False)


class JsonRenderer(Renderer):
    extension = "json"
    media_type = "application/json"

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0
        self.listed = 0

    def change(self, record: ChangeRecord) -> None:
        self.body.write(("\n" if self.changes == 0 else ",\n") + _dumps(record_json(record)))
        self.changes += 1
        for e in record.exceptions:
            item = {"change": record.ref, "rule": e.rule, "label": e.label, "kind": e.kind,
                    "detail": e.detail}
            self.exceptions.write(("\n" if self.listed == 0 else ",\n") + _dumps(item))
            self.listed += 1

    def finish(self, out, info, summary, unmatched, people) -> None:
        period = info.period
        pack = {
            "title": f"{TITLE}: {period.label}", "control": CONTROL,
            "generated_at": info.generated_at,
            "period": {"first_day": period.first_day.isoformat(),
                       "last_day": period.last_day.isoformat(), "time_zone": period.zone,
                       "start": period.start, "end": period.end,
                       "membership": "production deployment in the period, or closure in "
                       "the period for changes never deployed"},
            "audit_log": {"head_hash": info.audit_head, "events": info.audit_events,
                          "checkpoints": [plain(c) for c in info.checkpoints]},
        }
        out.write('{"pack": ' + _dumps(pack) + ',\n"summary": ')
        out.write(_dumps(summary.as_dict())[:-1] + ', "exception_list": [')
        copy_spool(self.exceptions, out)
        out.write("]},\n")
        out.write('"unmatched_deployments": '
                  + _dumps([plain(d) for d in unmatched]) + ",\n")
        out.write('"deployments_inside_freezes": '
                  + _dumps([frozen_json(f, self.names) for f in self.frozen]) + ",\n")
        out.write('"policy": ' + _dumps(info.policy.model_dump(mode="json")) + ",\n")
        out.write('"people": ' + _dumps(people) + ",\n")
        out.write('"changes": [')
        copy_spool(self.body, out)
        out.write("\n]}\n")
