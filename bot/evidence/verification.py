"""`changebot audit verify`: the chain, the rows the evidence pack reads, and the witness.

1. The chain (storage.audit_chain): every event's hash (plain SHA-256, or HMAC with
   CHANGEBOT_AUDIT_KEY) and its link to the one before.
2. The rows (storage.audit_rows): the row snapshots in the chain replayed and compared
   with the live `changes`, `approvals`, `deployments` and `freezes`: any edit, insert or
   delete that is not in the chain is named with its table, row and field.
3. The witness (bot.evidence.witness), when asked: every checkpoint read back from Slack
   must name a head that is in the chain, at the position it counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.evidence.records import Checkpoint
from bot.settings import Settings
from storage import audit_chain
from storage.audit_rows import Replay, RowCheck
from storage.db import Database

EXIT_INTACT = 0
EXIT_TAMPERED = 1
EXIT_NO_DATABASE = 2
EXIT_WITNESS_UNREADABLE = 3


def audit_key(settings: Settings) -> bytes | None:
    key = settings.changebot_audit_key
    return key.get_secret_value().encode() if key and key.get_secret_value() else None


@dataclass(frozen=True)
class WitnessCheck:
    checkpoints: int
    problems: list[str] = field(default_factory=list)


def judge_checkpoints(checkpoints: Sequence[Checkpoint], positions: dict[str, int],
                      events: int) -> WitnessCheck:
    """Each checkpoint's head must be in the chain, as its `events`-th event: missing, the
    events up to it were deleted or rewritten; a longer count than the chain holds, the
    tail was cut."""
    problems = []
    for c in checkpoints:
        what = (f"the checkpoint of {c.at.isoformat(timespec='seconds')} ({c.events} events, "
                f"head {c.head})")
        position = positions.get(c.head)
        if c.events > events:
            problems.append(f"{what} counted more events than the chain now holds ({events}): "
                            "events were deleted from its tail")
        elif position is None:
            problems.append(f"{what}: that head is not in the chain: the events up to it "
                            "were deleted or rewritten")
        elif position != c.events:
            problems.append(f"{what}: that head is event number {position} of the chain, "
                            f"not {c.events}: events before it were deleted or inserted")
    return WitnessCheck(len(checkpoints), problems)


@dataclass(frozen=True)
class Report:
    chain: audit_chain.Verdict
    rows: RowCheck | None  # None when the chain itself is broken
    witness: WitnessCheck | None = None

    @property
    def intact(self) -> bool:
        return (self.chain.intact and self.rows is not None and not self.rows.problems
                and not (self.witness and self.witness.problems))

    def lines(self) -> list[str]:
        out = [self.chain.describe()]
        if self.rows is None:
            out.append("rows: not compared, the chain is broken")
        else:
            out.append(self.rows.describe())
            out += [f"  - {p.describe()}" for p in self.rows.problems]
        if self.witness is not None:
            w = self.witness
            if not w.checkpoints:
                out.append("witness: no checkpoint found in Slack")
            elif not w.problems:
                out.append(f"witness: {w.checkpoints} checkpoint(s) in Slack, every one in "
                           "the chain")
            else:
                out.append(f"witness: {w.checkpoints} checkpoint(s) in Slack, "
                           f"{len(w.problems)} not matching the chain:")
                out += [f"  - {p}" for p in w.problems]
        return out


async def verify(db: Database, *, key: bytes | None, expect: str | None = None,
                 checkpoints: Sequence[Checkpoint] | None = None) -> Report:
    """Everything in one consistent snapshot of the database."""
    replay = Replay()
    heads = {c.head for c in checkpoints or ()}
    positions: dict[str, int] = {}

    def observe(event, position: int) -> None:
        replay.see(event, position)
        if event.hash in heads:
            positions[event.hash] = position

    async with db.snapshot() as session:
        verdict = await audit_chain.verify(session, expect=expect, key=key, observe=observe)
        rows = None if verdict.broken_at is not None else await replay.compare(session)
    witness = None
    if checkpoints is not None:
        witness = judge_checkpoints(checkpoints, positions, verdict.events)
    return Report(verdict, rows, witness)
