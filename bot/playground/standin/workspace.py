"""The demo workspace: the people, channels and groups of the playground and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.policy import Channels, Groups, Policy

if TYPE_CHECKING:
    from bot.playground.standin.api import FakeSlack


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    role: str

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"


ALICE = Person("U0ALICE", "alice", "Alice Engineer", "engineer")
BOB = Person("U0BOB", "bob", "Bob Reviewer", "reviewer")
CAROL = Person("U0CAROL", "carol", "Carol Reviewer", "reviewer")
DAVE = Person("U0DAVE", "dave", "Dave Lead", "tech lead")
ERIN = Person("U0ERIN", "erin", "Erin Security", "security team")
PEOPLE = (ALICE, BOB, CAROL, DAVE, ERIN)

CHANGES = "C0CHANGES"
ENGINEERING = "C0ENGINEERING"
SECURITY_GROUP = "S0SECURITY"
TECH_LEADS_GROUP = "S0TECHLEADS"


def seed(fake: FakeSlack) -> None:
    for person in PEOPLE:
        fake.add_user(person.id, person.name, real_name=person.real_name, email=person.email)
    fake.add_channel(CHANGES, "changes")
    fake.add_channel(ENGINEERING, "engineering")
    fake.add_usergroup(SECURITY_GROUP, "security", [ERIN.id])
    fake.add_usergroup(TECH_LEADS_GROUP, "tech-leads", [DAVE.id])


def demo_policy(**sections) -> Policy:
    """The default policy, pointed at the demo workspace; override sections by keyword."""
    base = {
        "channels": Channels(changes=CHANGES, engineering=ENGINEERING),
        "groups": Groups(security=SECURITY_GROUP, tech_leads=TECH_LEADS_GROUP),
    }
    base.update(sections)
    return Policy(**base)


def person(name_or_id: str) -> Person:
    for candidate in PEOPLE:
        if name_or_id in (candidate.name, candidate.id):
            return candidate
    raise LookupError(f"no demo user {name_or_id!r}")
