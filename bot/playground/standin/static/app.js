// The playground page. The server renders every Block Kit surface to HTML
// (bot/playground/standin/render.py); this script only places it, follows the live
// events, and turns clicks and forms into calls on /playground/*.
"use strict";

const S = {
  me: new URLSearchParams(location.search).get("as") || "U0ALICE",
  channel: "C0CHANGES",
  tab: "messages",        // in the app's DM: "home" or "messages"
  thread: null,           // ts of the open thread, in S.channel
  people: [], channels: [], dms: {},
  items: new Map(),       // "channel ts" -> message item
  unread: {},             // channel id -> count of new messages not yet seen
  modal: null, home: null,
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const esc = (text) => String(text).replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const key = (channel, ts) => `${channel} ${ts}`;

async function call(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: S.me, ...body }),
  };
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok && !data.error) data.error = `HTTP ${response.status}`;
  return data;
}

function toast(text, kind = "info") {
  const box = document.createElement("div");
  box.className = `toast toast-${kind}`;
  box.textContent = text;
  $("#toasts").append(box);
  setTimeout(() => box.remove(), kind === "error" ? 8000 : 4000);
}

// ---- state ------------------------------------------------------------------------------

async function load() {
  const state = await call(`/playground/state?user=${encodeURIComponent(S.me)}`);
  if (state.error) { toast(state.error, "error"); return; }
  Object.assign(S, { people: state.people, channels: state.channels, dms: state.dms });
  S.items = new Map(state.messages.map((item) => [key(item.channel, item.ts), item]));
  S.modal = state.modal;
  S.home = state.home;
  $("#clock-now").textContent = state.clock;
  $$(".clock-advance").forEach((b) => { b.disabled = !state.can_advance; });
  if (S.channel.startsWith("D")) S.channel = S.dms[S.me];
  S.unread[S.channel] = 0;
  renderAll();
}

function visible(item) {
  return !item.for || item.for === S.me;
}

function inChannel(channel) {
  return [...S.items.values()].filter((i) => i.channel === channel && visible(i))
    .sort((a, b) => Number(a.ts) - Number(b.ts));
}

// ---- drawing ----------------------------------------------------------------------------

function renderAll() {
  renderPeople();
  renderSidebar();
  renderConversation();
  renderThread();
  renderModal();
}

function renderPeople() {
  $("#acting-as").innerHTML = S.people.map((p) =>
    `<option value="${esc(p.id)}"${p.id === S.me ? " selected" : ""}>` +
    `${esc(p.real_name)}${p.role ? ` — ${esc(p.role)}` : ""}</option>`).join("");
  $("#people-list").innerHTML = S.people.map((p) => {
    const fresh = S.unread[S.dms[p.id]] || 0;
    const badge = fresh && p.id !== S.me ? ` <span class="badge" title="new direct messages">${fresh}</span>` : "";
    return `<li><button type="button" class="person${p.id === S.me ? " me" : ""}" ` +
      `data-person="${esc(p.id)}">@${esc(p.name)} <span class="role">${esc(p.role)}</span>` +
      `${badge}</button></li>`;
  }).join("");
}

function renderSidebar() {
  const entry = (id, label) => {
    const count = S.unread[id] || 0;
    const badge = count ? ` <span class="badge">${count}</span>` : "";
    return `<li><button type="button" class="channel${id === S.channel ? " active" : ""}" ` +
      `data-channel="${esc(id)}">${label}${badge}</button></li>`;
  };
  $("#channel-list").innerHTML = S.channels.map((c) => entry(c.id, `# ${esc(c.name)}`)).join("");
  $("#app-list").innerHTML = entry(S.dms[S.me], '<span class="app-dot"></span>changebot');
}

function messageHtml(item, inThread) {
  const replies = !inThread && item.reply_count
    ? `<button type="button" class="replies" data-thread="${esc(item.ts)}">` +
      `${item.reply_count} repl${item.reply_count === 1 ? "y" : "ies"}</button>` : "";
  const only = item.for ? '<div class="only-you">Only visible to you</div>' : "";
  return `<div class="msg${item.for ? " ephemeral" : ""}" id="m-${esc(item.ts.replace(".", "-"))}"` +
    ` data-channel="${esc(item.channel)}" data-ts="${esc(item.ts)}">` +
    `<div class="avatar${item.is_app ? " app" : ""}">${esc(item.author.slice(0, 1))}</div>` +
    `<div class="msg-main">${only}<div class="msg-head"><b>${esc(item.author)}</b>` +
    `${item.is_app ? ' <span class="app-tag">APP</span>' : ""} <time>${esc(item.time)}</time>` +
    `${item.edited ? ' <span class="edited">(edited)</span>' : ""}</div>` +
    `<div class="msg-body">${item.html}</div>${replies}</div></div>`;
}

function fill(box, html) {
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.innerHTML = html;
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function renderConversation() {
  const isApp = S.channel === S.dms[S.me];
  const channel = S.channels.find((c) => c.id === S.channel);
  $("#conversation-title").textContent = isApp ? "changebot" : `# ${channel ? channel.name : S.channel}`;
  $("#app-tabs").hidden = !isApp;
  $$("#app-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === S.tab));
  const showHome = isApp && S.tab === "home";
  $("#home").hidden = !showHome;
  $("#messages").hidden = showHome;
  $("#composer").hidden = showHome;
  if (showHome) {
    $("#home").innerHTML = S.home ||
      '<div class="empty">Changebot has not published a Home tab for you yet.</div>';
    return;
  }
  const top = inChannel(S.channel).filter((i) => !i.thread_ts);
  const html = top.map((i) => messageHtml(i, false)).join("");
  fill($("#messages"), html || '<div class="empty">No messages yet. ' +
    (isApp ? "Changebot writes to you here." : "Type <code>/change new</code> below to propose a change.") +
    "</div>");
  $("#composer-input").placeholder = isApp ? "Message changebot (try /change list)"
    : `Message #${channel ? channel.name : ""} — type /change new to propose a change`;
}

function renderThread() {
  const pane = $("#thread");
  const parent = S.thread && S.items.get(key(S.channel, S.thread));
  pane.hidden = !parent;
  if (!parent) return;
  const replies = inChannel(S.channel).filter((i) => i.thread_ts === S.thread);
  fill($("#thread-messages"), [parent, ...replies].map((i) => messageHtml(i, true)).join(""));
}

let shownModal = null;  // the HTML on screen: redrawn only when the view changed

function renderModal() {
  const root = $("#modal-root");
  if (!S.modal) { root.hidden = true; root.innerHTML = ""; shownModal = null; return; }
  if (shownModal === S.modal.html) return;  // keep what the person is typing
  shownModal = S.modal.html;
  root.innerHTML = S.modal.html;
  root.hidden = false;
  const form = $("form.bk-modal", root);
  if (form) restoreDraft(form);
  const first = $("input, textarea, select", root);
  if (first) first.focus();
}

// ---- drafts: what a person typed in a modal outlives a reload of the page (this tab) -----

const draftKey = (viewId) => `changebot-draft ${S.me} ${viewId}`;
const isBox = (control) => control.type === "checkbox" || control.type === "radio";

function controlsOf(form) {
  // Each control named by its block and its place in it: stable for one view.
  return $$(".bk-input", form).flatMap((field) => $$("input, textarea, select", field)
    .map((control, i) => [`${field.dataset.blockId} ${i}`, control]));
}

function saveDraft(form) {
  const draft = {};
  for (const [name, control] of controlsOf(form)) {
    draft[name] = isBox(control) ? control.checked : control.value;
  }
  try {
    sessionStorage.setItem(draftKey(form.dataset.viewId), JSON.stringify(draft));
  } catch (_) { /* storage full or off: the draft is only a convenience */ }
}

function restoreDraft(form) {
  let draft = null;
  try {
    draft = JSON.parse(sessionStorage.getItem(draftKey(form.dataset.viewId)) || "null");
  } catch (_) { /* none */ }
  if (!draft) return;
  for (const [name, control] of controlsOf(form)) {
    if (!(name in draft)) continue;
    if (isBox(control)) control.checked = Boolean(draft[name]);
    else control.value = draft[name];
  }
}

function dropDraft(viewId) {
  try { sessionStorage.removeItem(draftKey(viewId)); } catch (_) { /* none */ }
}

async function refreshViews() {
  const views = await call(`/playground/views?user=${encodeURIComponent(S.me)}`);
  if (views.error) return;
  S.modal = views.modal;
  S.home = views.home;
  renderModal();
  if (S.tab === "home") renderConversation();
}

// ---- live events ------------------------------------------------------------------------

function onEvent(event) {
  if (event.type === "message") {
    const item = event.item;
    const id = key(item.channel, item.ts);
    S.items.set(id, item);
    if (!visible(item)) return;
    if (event.new && !item.thread_ts && item.channel !== S.channel) {
      S.unread[item.channel] = (S.unread[item.channel] || 0) + 1;
      renderPeople();
      renderSidebar();
    }
    if (item.channel === S.channel) { renderConversation(); renderThread(); }
  } else if (event.type === "deleted") {
    S.items.delete(key(event.channel, event.ts));
    if (event.channel === S.channel) { renderConversation(); renderThread(); }
  } else if (event.type === "views") {
    if (event.user === S.me) refreshViews();
  } else if (event.type === "clock") {
    $("#clock-now").textContent = event.clock;
  }
}

function follow() {
  const stream = new EventSource("/playground/events");
  stream.onmessage = (message) => onEvent(JSON.parse(message.data));
  stream.onopen = () => { document.body.dataset.live = "yes"; load(); };
  stream.onerror = () => { document.body.dataset.live = "no"; };
}

// ---- what the person does ---------------------------------------------------------------

function showChannel(channel) {
  S.channel = channel;
  S.thread = null;
  S.tab = "messages";
  S.unread[channel] = 0;
  renderAll();
}

// A permalink: open its channel (or the thread it is in) and show the message.
function goTo(channel, ts) {
  const item = S.items.get(key(channel, ts));
  showChannel(channel);
  if (item && item.thread_ts) { S.thread = item.thread_ts; renderThread(); }
  const shown = document.getElementById(`m-${ts.replace(".", "-")}`);
  if (!shown) { toast("That message is not in this conversation any more."); return; }
  shown.scrollIntoView({ block: "center" });
  shown.classList.add("flash");
  setTimeout(() => shown.classList.remove("flash"), 1600);
}

async function switchPerson(user) {
  S.me = user;
  S.thread = null;
  history.replaceState(null, "", `?as=${encodeURIComponent(user)}`);
  await load();
}

async function send(text) {
  const where = { channel: S.channel };
  const result = text.startsWith("/")
    ? await call("/playground/command", { ...where, text })
    : await call("/playground/message", { ...where, text });
  if (result.error) toast(result.error, "error");
}

function confirmFirst(confirm) {
  const root = $("#confirm-root");
  $(".confirm-title", root).innerHTML = confirm.title;
  $(".confirm-text", root).innerHTML = confirm.text;
  $(".confirm-ok", root).innerHTML = confirm.confirm;
  $(".confirm-deny", root).innerHTML = confirm.deny;
  $(".confirm-ok", root).className = `bk-button confirm-ok bk-${confirm.style || "primary"}`;
  root.hidden = false;
  return new Promise((resolve) => {
    const done = (answer) => () => { root.hidden = true; resolve(answer); };
    $(".confirm-ok", root).onclick = done(true);
    $(".confirm-deny", root).onclick = done(false);
  });
}

function origin(element) {
  const view = element.closest("[data-view-id]");
  if (view) return { view_id: view.dataset.viewId };
  const message = element.closest(".msg");
  return message ? { channel: message.dataset.channel, ts: message.dataset.ts } : null;
}

async function act(element, selected) {
  const from = origin(element);
  if (!from) return;
  const data = element.dataset;
  if (data.confirm && !(await confirmFirst(JSON.parse(data.confirm)))) return;
  if (data.url) window.open(data.url, "_blank", "noopener");
  const result = await call("/playground/click", {
    ...from, action_id: data.actionId, block_id: data.blockId || null, selected,
  });
  if (result.error) toast(result.error, "error");
}

// A choice in an input with dispatch_action: Slack sends it to the app at once.
async function choose(field) {
  const selected = readInput(field);
  const from = origin(field);
  if (selected === null || !from) return;
  const result = await call("/playground/click", {
    ...from, action_id: field.dataset.dispatch, block_id: field.dataset.blockId, selected,
  });
  if (result.error) toast(result.error, "error");
}

// The value of one input block, as the stand-in expects it (see requests.state_value).
function readInput(field) {
  const type = field.dataset.type;
  const control = $(".bk-control", field);
  const checked = $$("input:checked", field).map((i) => i.value);
  switch (type) {
    case "checkboxes": case "multi_static_select": case "multi_users_select": return checked;
    case "radio_buttons": return checked[0] || null;
    case "datetimepicker":
      return control && control.value ? Math.round(Date.parse(`${control.value}:00Z`) / 1000) : null;
    default:
      return control && control.value !== "" ? control.value : null;
  }
}

function showErrors(form, errors, general) {
  $$(".bk-input", form).forEach((field) => {
    const message = errors[field.dataset.blockId];
    const box = $(".bk-error", field);
    box.textContent = message || "";
    box.hidden = !message;
    field.classList.toggle("has-error", Boolean(message));
  });
  const box = $(".bk-modal-error", form);
  box.textContent = general || "";
  box.hidden = !general;
}

async function submit(form) {
  const values = {};
  $$(".bk-input", form).forEach((field) => {
    if (field.dataset.blockId && !$(".bk-unknown", field)) values[field.dataset.blockId] = readInput(field);
  });
  $(".bk-submit", form).disabled = true;
  const result = await call("/playground/submit", { view_id: form.dataset.viewId, values });
  $(".bk-submit", form).disabled = false;
  showErrors(form, result.errors || {}, result.error);
  if (result.ok) { dropDraft(form.dataset.viewId); refreshViews(); }
}

async function closeModal(form, all) {
  dropDraft(form.dataset.viewId);
  await call("/playground/close", { view_id: form.dataset.viewId, all });
  refreshViews();
}

async function advance(minutes, button) {
  $$(".clock-advance").forEach((b) => { b.disabled = true; });
  const result = await call("/playground/clock", { minutes: Number(minutes) });
  $$(".clock-advance").forEach((b) => { b.disabled = false; });
  if (result.error) { toast(result.error, "error"); return; }
  $("#clock-now").textContent = result.clock;
  toast(`Clock moved ${button.textContent.replace("+", "")}: ${result.clock}. ` +
    `${result.sent} reminder${result.sent === 1 ? "" : "s"} sent.`);
}

function wire() {
  $("#acting-as").addEventListener("change", (e) => switchPerson(e.target.value));
  $("#composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("#composer-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  $("#thread-close").addEventListener("click", () => { S.thread = null; renderThread(); });
  $$(".clock-advance").forEach((b) => b.addEventListener("click", () => advance(b.dataset.minutes, b)));
  $$("#app-tabs button").forEach((b) => b.addEventListener("click", async () => {
    S.tab = b.dataset.tab;
    renderConversation();
    if (S.tab === "home") { await call("/playground/home", {}); refreshViews(); }
  }));
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a.bk-permalink");
    if (link) { e.preventDefault(); goTo(link.dataset.gotoChannel, link.dataset.gotoTs); return; }
    const target = e.target.closest("button");
    if (!target) return;
    if (target.dataset.channel) showChannel(target.dataset.channel);
    else if (target.dataset.person) switchPerson(target.dataset.person);
    else if (target.dataset.thread) { S.thread = target.dataset.thread; renderThread(); }
    else if (target.dataset.actionId) act(target);
    else if (target.classList.contains("bk-close")) closeModal(target.closest("form"), false);
    else if (target.classList.contains("bk-modal-x")) closeModal(target.closest("form"), true);
  });
  document.addEventListener("change", (e) => {
    const dispatching = e.target.closest && e.target.closest(".bk-input[data-dispatch]");
    if (dispatching) { choose(dispatching); return; }
    if (!e.target.classList.contains("bk-action-select") || !e.target.value) return;
    act(e.target, e.target.value);
    if (e.target.classList.contains("bk-overflow")) e.target.value = "";  // "…" again
  });
  for (const kind of ["input", "change"]) {
    document.addEventListener(kind, (e) => {
      const form = e.target.closest && e.target.closest("form.bk-modal");
      if (form) saveDraft(form);
    });
  }
  document.addEventListener("submit", (e) => {
    if (!e.target.classList.contains("bk-modal")) return;
    e.preventDefault();
    submit(e.target);
  });
}

wire();
follow();
