"""The playground's one Block Kit renderer (bot/playground/standin/render.py), element by element.

The page's script only places this HTML and reads it back by its data-* attributes, so what
is checked here is what a person sees and what a click or a form sends.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.change.card_view import CardInput, card_message
from bot.playground.standin import mrkdwn, render
from bot.playground.standin.mrkdwn import Names
from bot.policy import Policy
from bot.proposal.views import proposal_modal

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NAMES = Names(users={"U0ALICE": "alice", "U0BOB": "bob"}, channels={"C0CHANGES": "changes"},
              groups={"S0SECURITY": "security"}, now=lambda: NOW)
PEOPLE = [("U0ALICE", "Alice Engineer (@alice)"), ("U0BOB", "Bob Reviewer (@bob)")]


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


class Tags(HTMLParser):
    """The tags of an HTML fragment, and whether every opened tag was closed."""

    VOID = {"input", "br", "hr", "img", "meta", "link"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.found if t == tag
                and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


def tags(html: str) -> Tags:
    parsed = Tags(html)
    assert parsed.open == [], f"unclosed tags {parsed.open} in {html}"
    return parsed


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# ---- mrkdwn -----------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"),
    ("a `*not bold*` code", "a <code>*not bold*</code> code"),
    ("```line 1\n*raw*```", "<pre>line 1\n*raw*</pre>"),
    ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
    ("one\ntwo", "one<br>two"),
    ("&gt; quoted\nafter", "<blockquote>quoted</blockquote>after"),
    ("x &lt;script&gt; &amp; y", "x &lt;script&gt; &amp; y"),
    (":white_check_mark: done :no_such_emoji:", "✅ done :no_such_emoji:"),
    ("<!here> <!subteam^S0SECURITY>", '<span class="bk-mention">@here</span> '
                                      '<span class="bk-mention">@security</span>'),
])
def test_mrkdwn_basics(source, expected):
    assert mrkdwn.to_html(source, NAMES) == expected


def test_mentions_use_names_and_links_are_safe():
    html = mrkdwn.to_html(
        "<@U0ALICE> in <#C0CHANGES> see <https://github.com/acme/api/pull/1|PR 1> "
        "and <javascript:alert(1)|click>", NAMES)
    assert '<span class="bk-mention">@alice</span>' in html
    assert '<span class="bk-mention">#changes</span>' in html
    assert ('<a href="https://github.com/acme/api/pull/1" target="_blank" '
            'rel="noopener noreferrer">PR 1</a>') in html
    assert "javascript" not in html and "click" in html


def test_a_permalink_of_the_stand_in_opens_in_the_page():
    html = mrkdwn.to_html(
        "<https://demo.slack.com/archives/C0CHANGES/p1795600800000100|Open CHG-1>", NAMES)
    assert html == ('<a href="#" class="bk-permalink" data-goto-channel="C0CHANGES" '
                    'data-goto-ts="1795600800.000100">Open CHG-1</a>')


def test_formatting_spans_a_mention():
    assert mrkdwn.to_html("*<@U0BOB> approved*", NAMES) == (
        '<b><span class="bk-mention">@bob</span> approved</b>')


def test_an_unknown_user_shows_its_id():
    assert "@U0NOBODY" in mrkdwn.to_html("<@U0NOBODY>", NAMES)


def test_dates_are_formatted_for_a_reader_in_utc():
    stamp = int(datetime(2026, 11, 25, 14, 30, tzinfo=UTC).timestamp())
    html = mrkdwn.to_html(f"<!date^{stamp}^{{date_short_pretty}} {{time}}|fallback>", NAMES)
    assert html == "today 14:30"
    tomorrow = stamp + 86400
    assert mrkdwn.to_html(f"<!date^{tomorrow}^{{date_long}}|x>", NAMES) == (
        "Thursday, November 26th, 2026")
    assert mrkdwn.to_html("<!date^nonsense^{date}|the fallback>", NAMES) == "the fallback"


# ---- blocks -----------------------------------------------------------------------------


def test_header():
    html = render.blocks([{"type": "header", "text": plain("CHG-1 · Upgrade <Postgres>")}],
                         NAMES)
    assert html == '<div class="bk-header">CHG-1 · Upgrade &lt;Postgres&gt;</div>'


def test_section_with_text_fields_and_a_button_accessory():
    html = render.blocks([{
        "type": "section", "block_id": "s1", "text": md("*Title*"),
        "fields": [md("*Status*\nIn review"), plain("Risk: *high*")],
        "accessory": {"type": "button", "action_id": "open", "text": plain("Open"),
                      "value": "7"},
    }], NAMES)
    parsed = tags(html)
    assert '<div class="bk-text"><b>Title</b></div>' in html
    assert '<div class="bk-field"><b>Status</b><br>In review</div>' in html
    assert '<div class="bk-field">Risk: *high*</div>' in html  # plain_text is not mrkdwn
    assert parsed.all("button", data_action_id="open", data_block_id="s1", data_value="7")


def test_context_divider_and_image():
    html = render.blocks([
        {"type": "context", "elements": [md("_by_ <@U0ALICE>"),
                                         {"type": "image", "image_url": "https://x/y.png",
                                          "alt_text": "logo"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://example.com/graph.png", "alt_text": "CPU graph",
         "title": plain("CPU")},
    ], NAMES)
    tags(html)
    assert '<div class="bk-context"><span><i>by</i> <span class="bk-mention">@alice</span>' \
        in html
    assert '<hr class="bk-divider">' in html
    assert "[logo]" in html and "Image: CPU graph" in html
    assert "https://" not in html  # nothing is fetched from the internet


def test_actions_with_button_styles_and_a_confirm_dialog():
    confirm = {"title": plain("Cancel this change?"), "text": md("*CHG-1* will be closed."),
               "confirm": plain("Cancel the change"), "deny": plain("Keep it"),
               "style": "danger"}
    html = render.blocks([{"type": "actions", "block_id": "change_actions", "elements": [
        {"type": "button", "action_id": "approve", "text": plain("Approve"), "style": "primary",
         "value": "1"},
        {"type": "button", "action_id": "reject", "text": plain("Reject"), "style": "danger"},
        {"type": "button", "action_id": "cancel", "text": plain("Cancel change"),
         "confirm": confirm},
        {"type": "button", "action_id": "docs", "text": plain("Docs"),
         "url": "https://example.com/docs"},
    ]}], NAMES)
    parsed = tags(html)
    buttons = parsed.all("button")
    assert [b["class"] for b in buttons] == [
        "bk-button bk-primary", "bk-button bk-danger", "bk-button", "bk-button"]
    assert all(b["data-block-id"] == "change_actions" for b in buttons)
    dialog = json.loads(buttons[2]["data-confirm"] or "")
    assert dialog == {"title": "Cancel this change?", "text": "<b>CHG-1</b> will be closed.",
                      "confirm": "Cancel the change", "deny": "Keep it", "style": "danger"}
    assert buttons[3]["data-url"] == "https://example.com/docs"
    assert "data-confirm" not in buttons[0]


def test_a_select_menu_in_a_message_sends_its_choice():
    html = render.blocks([{"type": "actions", "block_id": "b", "elements": [
        {"type": "static_select", "action_id": "pick", "placeholder": plain("Environment"),
         "options": [{"text": plain("Staging"), "value": "staging"},
                     {"text": plain("Production"), "value": "production"}],
         "initial_option": {"text": plain("Staging"), "value": "staging"}},
    ]}], NAMES)
    parsed = tags(html)
    assert parsed.all("select", data_action_id="pick", data_block_id="b")
    assert [o["value"] for o in parsed.all("option")] == ["", "staging", "production"]
    assert '<option value="staging" selected>Staging</option>' in html


def test_unknown_blocks_and_elements_are_labelled_placeholders():
    html = render.blocks([
        {"type": "rich_text", "elements": []},
        {"type": "section", "text": md("still shown")},
        {"type": "actions", "elements": [{"type": "workflow_button", "action_id": "run"}]},
        "not even a block",
    ], NAMES)
    tags(html)
    assert 'data-unsupported="rich_text"' in html
    assert "still shown" in html
    assert 'data-unsupported="workflow_button"' in html
    assert 'data-unsupported="?"' in html


def test_an_overflow_menu_is_a_menu_of_its_options():
    html = render.blocks([{"type": "actions", "block_id": "change_actions", "elements": [
        {"type": "overflow", "action_id": "change_more", "options": [
            {"text": plain("Edit"), "value": "1:change_edit"},
            {"text": plain("Cancel change…"), "value": "1:change_cancel"}]}]}], NAMES)
    (menu,) = tags(html).all("select", data_action_id="change_more")
    assert menu["class"] == "bk-select bk-action-select bk-overflow"
    assert re.findall(r'<option value="([^"]*)">([^<]*)</option>', html) == [
        ("", "…"), ("1:change_edit", "Edit"), ("1:change_cancel", "Cancel change…")]


def test_a_malformed_block_does_not_hide_the_others():
    html = render.blocks([{"type": "header"}, {"type": "divider"}], NAMES)
    assert 'data-unsupported="header (malformed)"' in html
    assert '<hr class="bk-divider">' in html


def test_a_message_without_blocks_shows_its_text():
    assert render.message({"text": "*hi* <@U0BOB>"}, NAMES) == (
        '<div class="bk-text"><b>hi</b> <span class="bk-mention">@bob</span></div>')


# ---- modals: every input element --------------------------------------------------------


def input_block(block_id: str, element: dict, **extra) -> dict:
    return {"type": "input", "block_id": block_id, "label": plain(block_id.title()),
            "element": {"action_id": block_id, **element}, **extra}


OPTIONS = [{"text": plain("Low"), "value": "low"}, {"text": plain("High"), "value": "high",
                                                    "description": plain("Pager duty")}]


def modal(*blocks: dict) -> dict:
    return {"type": "modal", "id": "V1", "title": plain("Propose"), "submit": plain("Send"),
            "close": plain("Back"), "blocks": list(blocks)}


def test_a_modal_is_a_form_with_title_close_and_submit():
    html = render.view(modal(), NAMES, PEOPLE)
    parsed = tags(html)
    assert parsed.all("form", class_="bk-modal", data_view_id="V1")
    assert '<div class="bk-modal-title">Propose' in html
    assert '<button type="button" class="bk-button bk-close">Back</button>' in html
    assert '<button type="submit" class="bk-button bk-primary bk-submit">Send</button>' in html


def test_plain_text_inputs_single_and_multi_line():
    html = render.view(modal(
        input_block("title", {"type": "plain_text_input", "initial_value": "a <b>",
                              "max_length": 150, "placeholder": plain("One line")},
                    hint=plain("Keep it short"), optional=True),
        input_block("description", {"type": "plain_text_input", "multiline": True}),
    ), NAMES, PEOPLE)
    parsed = tags(html)
    (single,) = parsed.all("input", id="in-title")
    assert (single["type"], single["value"], single["maxlength"], single["placeholder"]) == (
        "text", "a <b>", "150", "One line")
    assert parsed.all("textarea", id="in-description")
    assert parsed.all("div", class_="bk-input", data_block_id="title",
                      data_type="plain_text_input")
    assert '<span class="bk-optional">(optional)</span>' in html
    assert '<div class="bk-hint">Keep it short</div>' in html
    assert len(parsed.all("div", class_="bk-error", role="alert")) == 2  # one per field


def test_static_select_and_radio_buttons():
    html = render.view(modal(
        input_block("risk", {"type": "static_select", "options": OPTIONS,
                             "initial_option": OPTIONS[1]}),
        input_block("size", {"type": "radio_buttons", "options": OPTIONS}),
        input_block("grouped", {"type": "static_select", "option_groups": [
            {"label": plain("Common"), "options": OPTIONS}]}),
    ), NAMES, PEOPLE)
    parsed = tags(html)
    assert parsed.all("select", id="in-risk")
    assert '<option value="high" selected>High</option>' in html
    radios = parsed.all("input", type="radio", name="in-size")
    assert [r["value"] for r in radios] == ["low", "high"]
    assert '<span class="bk-description">Pager duty</span>' in html
    assert parsed.all("optgroup", label="Common")


def test_checkboxes_with_initial_options():
    html = render.view(modal(input_block("touches", {
        "type": "checkboxes", "options": OPTIONS, "initial_options": [OPTIONS[0]]})),
        NAMES, PEOPLE)
    boxes = tags(html).all("input", type="checkbox")
    assert [(b["value"], "checked" in b) for b in boxes] == [("low", True), ("high", False)]


def test_users_and_multi_users_selects_list_the_people():
    html = render.view(modal(
        input_block("owner", {"type": "users_select", "initial_user": "U0BOB"}),
        input_block("reviewers", {"type": "multi_users_select", "initial_users": ["U0ALICE"]}),
    ), NAMES, PEOPLE)
    parsed = tags(html)
    assert [o["value"] for o in parsed.all("option")] == ["", "U0ALICE", "U0BOB"]
    assert '<option value="U0BOB" selected>Bob Reviewer (@bob)</option>' in html
    boxes = parsed.all("input", type="checkbox", name="in-reviewers")
    assert [(b["value"], "checked" in b) for b in boxes] == [("U0ALICE", True), ("U0BOB", False)]


def test_date_time_and_datetime_pickers():
    stamp = int(datetime(2026, 12, 1, 15, 45, tzinfo=UTC).timestamp())
    html = render.view(modal(
        input_block("day", {"type": "datepicker", "initial_date": "2026-12-01"}),
        input_block("at", {"type": "timepicker", "initial_time": "09:30"}),
        input_block("when", {"type": "datetimepicker", "initial_date_time": stamp}),
    ), NAMES, PEOPLE)
    parsed = tags(html)
    assert parsed.all("input", id="in-day", type="date", value="2026-12-01")
    assert parsed.all("input", id="in-at", type="time", value="09:30")
    assert parsed.all("input", id="in-when", type="datetime-local", value="2026-12-01T15:45")


def test_an_input_element_it_cannot_show_is_a_placeholder():
    html = render.view(modal(input_block("file", {"type": "file_input"})), NAMES, PEOPLE)
    assert 'data-unsupported="file_input"' in html
    tags(html)


def test_home_tab():
    html = render.view({"type": "home", "id": "V9", "blocks": [
        {"type": "header", "text": plain("Your changes")}]}, NAMES, PEOPLE)
    assert html == ('<div class="bk-home" data-view-id="V9">'
                    '<div class="bk-header">Your changes</div></div>')


# ---- the bot's own surfaces render without a placeholder --------------------------------


def test_the_proposal_modal_and_the_card_render_completely():
    from bot.change.facts import ChangeFacts
    from bot.change.states import Category, Risk, Status

    view = {"id": "V1", **proposal_modal(Policy()).to_dict()}
    html = render.view(view, NAMES, PEOPLE)
    tags(html)
    assert "bk-unknown" not in html
    # The page sends a planned time as soon as it is chosen (dispatch_action).
    assert ('<div class="bk-input" data-block-id="planned_at" data-type="datetimepicker" '
            'data-dispatch="planned_at">') in html
    assert html.count("data-dispatch=") == 1
    facts = ChangeFacts(status=Status.in_review, category=Category.normal, risk=Risk.medium,
                        author="U0ALICE")
    card = card_message(CardInput(
        change_id=1, title="Add an index", author="U0ALICE", description="Faster report",
        rollback_plan="Drop it", pr_url=None, planned_at=None, facts=facts, gates=[],
    ))
    html = render.message(card, NAMES)
    tags(html)
    assert "bk-unknown" not in html
    assert "CHG-1 · Add an index" in text_of(html)
