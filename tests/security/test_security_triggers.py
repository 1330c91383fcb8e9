"""Step 4: what makes a change need a security review, and how the reason reads."""

import pytest
from sqlmodel import select

from bot.policy import Policy, Security
from bot.security.triggers import (
    CHECKBOXES,
    TRIGGER_SOURCES,
    Evidence,
    Trigger,
    TriggerSource,
    category_triggers,
    checkbox_triggers,
    keyword_triggers,
    path_matches,
    path_triggers,
    review_required,
    summary,
    triggers,
)
from storage.models import Change
from tests.flows import card_text, propose

POLICY = Policy()


def evidence(**fields) -> Evidence:
    return Evidence(**{"category": "normal", **fields})


# --- checkboxes -----------------------------------------------------------------------


def test_checkboxes_are_the_triggers_of_the_process():
    assert CHECKBOXES == {
        "auth": "Authentication or authorization logic",
        "crypto": "Cryptography",
        "data": "Data access or privacy",
        "third_party": "Third-party integration",
        "infra": "Infrastructure affecting production security controls",
    }


def test_a_ticked_checkbox_triggers_a_review():
    found = checkbox_triggers(evidence(checkboxes=("crypto",)), POLICY)
    assert found == [Trigger("checkbox", "touches cryptography")]


def test_every_checkbox_triggers_a_review():
    found = checkbox_triggers(evidence(checkboxes=tuple(CHECKBOXES)), POLICY)
    assert [t.reason for t in found] == [
        "touches authentication or authorization logic",
        "touches cryptography",
        "touches data access or privacy",
        "touches third-party integration",
        "touches infrastructure affecting production security controls",
    ]


def test_no_checkbox_no_trigger():
    assert checkbox_triggers(evidence(), POLICY) == []


# --- category -------------------------------------------------------------------------


def test_high_risk_always_triggers_a_review():
    found = category_triggers(evidence(category="high_risk"), POLICY)
    assert found == [Trigger("category", "high-risk change")]


@pytest.mark.parametrize("category", ["standard", "normal", "emergency"])
def test_other_categories_do_not_trigger_by_themselves(category):
    assert category_triggers(evidence(category=category), POLICY) == []


# --- keywords -------------------------------------------------------------------------


def test_keyword_in_the_description_triggers_a_review():
    found = keyword_triggers(evidence(texts=("Rotate the JWT signing key",)), POLICY)
    assert found == [Trigger("keyword", "mentions “jwt”")]


def test_keywords_match_case_insensitively():
    found = keyword_triggers(evidence(texts=("New PASSWORD rules",)), POLICY)
    assert [t.reason for t in found] == ["mentions “password”"]


def test_keywords_match_from_the_start_of_a_word_only():
    texts = ("Fix the author list, the ssltest typo and the OSS notice; the authority said so",)
    assert keyword_triggers(evidence(texts=texts), POLICY) == []


@pytest.mark.parametrize(("text", "reason"), [
    # the process's own words (Step 4's triggers)
    ("Authentication or authorization logic", "mentions “authentication”, “authorization”"),
    ("Cryptographic implementations", "mentions “cryptographic”"),
    ("Third-party integrations", "mentions “third-party”"),
    ("Adds two third parties", "mentions “third parties”"),
    ("encryption", "mentions “encryption”"),
    ("passwords", "mentions “passwords”"),
    ("tokens", "mentions “tokens”"),
    ("secrets", "mentions “secrets”"),
    # a short keyword finds its plural, not a longer word
    ("Sign JWTs", "mentions “jwts”"),
])
def test_keywords_match_word_forms_and_quote_the_words_found(text, reason):
    assert [t.reason for t in keyword_triggers(evidence(texts=(text,)), POLICY)] == [reason]


@pytest.mark.parametrize("notes", [
    "No auth, crypto or data-access changes.",
    "None: no passwords, tokens or secrets are touched.",
    "This change does not touch authentication.",
    "Doesn't change any permissions; n/a",
])
def test_a_negated_mention_in_the_security_considerations_does_not_trigger(notes):
    assert keyword_triggers(evidence(notes=notes), POLICY) == []


@pytest.mark.parametrize(("notes", "reason"), [
    ("No auth changes, but rotates the JWT signing key.", "mentions “jwt”"),
    ("No schema change. Tokens are now hashed.", "mentions “tokens”"),
    ("Passwords are not logged any more.", "mentions “passwords”"),
])
def test_a_mention_before_or_outside_a_negation_still_triggers(notes, reason):
    assert [t.reason for t in keyword_triggers(evidence(notes=notes), POLICY)] == [reason]


def test_a_negation_counts_in_the_security_considerations_only():
    found = keyword_triggers(evidence(texts=("No auth changes",)), POLICY)
    assert [t.reason for t in found] == ["mentions “auth”"]


def test_keywords_match_next_to_digits_punctuation_and_underscores():
    texts = ("Move to OAuth2 (see auth_token handling).",)
    reasons = [t.reason for t in keyword_triggers(evidence(texts=texts), POLICY)]
    assert reasons == ["mentions “auth”", "mentions “oauth”", "mentions “token”"]


def test_multi_word_keyword_matches_across_spacing():
    texts = ("Open the security\n  group for the new port",)
    reasons = [t.reason for t in keyword_triggers(evidence(texts=texts), POLICY)]
    assert reasons == ["mentions “security group”"]


def test_keywords_are_searched_in_every_text():
    texts = ("Add a column", "Security considerations: contains PII")
    reasons = [t.reason for t in keyword_triggers(evidence(texts=texts), POLICY)]
    assert reasons == ["mentions “pii”"]


def test_keywords_come_from_the_policy():
    policy = Policy(security=Security(keywords=["billing"]))
    texts = ("Change billing and the JWT",)
    reasons = [t.reason for t in keyword_triggers(evidence(texts=texts), policy)]
    assert reasons == ["mentions “billing”"]


# --- paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("**/auth/**", "auth/x.py"),
        ("**/auth/**", "src/auth/x.py"),
        ("**/auth/**", "src/app/auth/deep/x.py"),
        ("**/*auth*", "oauth.py"),
        ("**/*auth*", "src/oauth_client.py"),
        ("terraform/**", "terraform/prod/main.tf"),
        ("**/*.tf", "main.tf"),
        ("**/*.tf", "infra/network/main.tf"),
        ("**/iam*", "iam_roles.yaml"),
        ("**/security/**", "./security/policy.json"),
        ("config/?.yml", "config/a.yml"),
        ("**/[ab]uth.py", "src/auth.py"),
        ("**/*secret*", ".github/secrets.yml"),
        ("**/auth/**", "SRC/Auth/X.py"),
    ],
)
def test_path_patterns_match(pattern, path):
    assert path_matches(pattern, path)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("**/auth/**", "author/x.py"),
        ("**/auth/**", "src/authx/y.py"),
        ("terraform/**", "infra/terraform/main.py"),
        ("**/*.tf", "main.tfvars"),
        ("*.py", "src/app.py"),
        ("config/?.yml", "config/ab.yml"),
        ("**/[!a]uth.py", "src/auth.py"),
    ],
)
def test_path_patterns_do_not_match(pattern, path):
    assert not path_matches(pattern, path)


def test_changed_file_under_auth_triggers_a_review():
    found = path_triggers(evidence(changed_files=("auth/login.py",)), POLICY)
    assert found == [Trigger("path", "`auth/`")]


def test_pattern_matching_several_files_triggers_once():
    files = ("terraform/a.py", "terraform/b.py")
    found = path_triggers(evidence(changed_files=files), POLICY)
    assert found == [Trigger("path", "`terraform/`")]


def test_unrelated_files_do_not_trigger():
    files = ("README.md", "src/app/views.py", "tests/test_views.py")
    assert path_triggers(evidence(changed_files=files), POLICY) == []


def test_paths_come_from_the_policy():
    policy = Policy(security=Security(paths=["payments/**"]))
    files = ("payments/refund.py", "auth/login.py")
    assert path_triggers(evidence(changed_files=files), policy) == [Trigger("path", "`payments/`")]


# --- all sources, and the summary -----------------------------------------------------


def test_no_evidence_no_review():
    assert triggers(evidence(texts=("Fix a typo in the footer",)), POLICY) == []
    assert not review_required(evidence(), POLICY)


def test_triggers_collect_every_source_in_order():
    found = triggers(
        evidence(
            category="high_risk",
            checkboxes=("crypto",),
            texts=("Rotate the JWT key",),
            changed_files=("auth/login.py",),
        ),
        POLICY,
    )
    assert [t.source for t in found] == ["checkbox", "category", "keyword", "path"]
    assert review_required(evidence(category="high_risk"), POLICY)


def test_triggers_are_deduplicated():
    found = triggers(evidence(checkboxes=("crypto", "crypto")), POLICY)
    assert found == [Trigger("checkbox", "touches cryptography")]


def test_summary_of_checkbox_and_path():
    found = triggers(evidence(checkboxes=("crypto",), changed_files=("auth/login.py",)), POLICY)
    assert summary(found) == "touches cryptography (checkbox), `auth/` (changed files)"


def test_summary_of_a_high_risk_change():
    found = triggers(evidence(category="high_risk"), POLICY)
    assert summary(found) == "high-risk change (always)"


def test_summary_of_a_keyword():
    found = triggers(evidence(texts=("new jwt library",)), POLICY)
    assert summary(found) == "mentions “jwt” (keyword)"


def test_summary_of_nothing_is_empty():
    assert summary([]) == ""


def test_a_new_source_of_evidence_plugs_in(monkeypatch):
    def label_triggers(evidence, policy):
        return [Trigger("label", "labelled `security`")]

    monkeypatch.setattr(
        "bot.security.triggers.TRIGGER_SOURCES",
        [*TRIGGER_SOURCES, TriggerSource("label", "GitHub label", label_triggers)],
    )
    found = triggers(evidence(), POLICY)
    assert summary(found) == "labelled `security` (GitHub label)"


def test_the_summary_quotes_every_form_found():
    found = triggers(evidence(texts=("Authentication or authorization logic",)), POLICY)
    assert summary(found) == "mentions “authentication”, “authorization” (keyword)"


# --- a proposal over HTTP ---------------------------------------------------------------


async def stored(bot, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def test_a_proposal_in_the_process_words_asks_for_a_review_quoting_them(bot):
    change_id = await propose(
        bot, description="Third-party integrations: passwords and tokens move to Vault.",
        security_notes="No auth, crypto or data-access changes.")
    reasons = [t["reason"] for t in (await stored(bot, change_id)).security_triggers]
    assert reasons == ["mentions “passwords”", "mentions “tokens”", "mentions “third-party”"]
    shown = card_text(bot, change_id)
    assert all(f"{reason} (keyword)" in shown for reason in reasons)


async def test_security_notes_that_say_no_ask_for_no_review(bot):
    change_id = await propose(bot, security_notes="No auth, crypto or data-access changes.")
    change = await stored(bot, change_id)
    assert change.security_required is False and change.security_triggers == []
    assert "(keyword)" not in card_text(bot, change_id)
