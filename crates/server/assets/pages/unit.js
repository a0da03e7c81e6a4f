"use strict";
// A unit's overview: the totals of its whole subtree, each unit right below as a tile with its
// own totals (a click goes one level down), and the unit's own events, each opening its
// dashboard; kept current by the unit's live feed, which sends only what moved.
(() => {
  const { t, el, when } = HC;
  HC.texts({
    total_units: ["单位", "units"],
    total_events: ["会议", "meetings"],
    total_overdue: ["逾期", "overdue"],
    deadlines_link: ["报送任务：谁已报送、谁逾期 →", "Deadlines: who has sent what →"],
    below: ["下级单位", "Units below"],
    none_below: ["尚无下级单位。", "No units below yet."],
    own_events: ["本单位主办的会议", "Meetings this unit holds"],
    no_events: ["本单位尚未主办会议。", "This unit holds no meeting yet."],
    venues_line: ["会场 {venues} · 批准 {approved} · 报名 {registered}/{capacity}", "{venues} venues · {approved} approved · {registered}/{capacity} registered"],
    live_line: ["签到 {checked_in} · 调试通过 {video_passed} · 链路在线 {video_live}", "{checked_in} in · {video_passed} tested · {video_live} live"],
    overdue_line: ["逾期 {n}", "{n} overdue"],
  });

  const unitId = HC.data.unit;
  const state = { overview: null };
  const connection = el("span", { class: "connection down", id: "connection" }, t("connecting"));
  const updated = el("span", { class: "hint", id: "updated" });
  const totals = el("div", { class: "totals", id: "totals" });
  const children = el("div", { class: "grid", id: "children", "aria-live": "polite" });
  const events = el("div", { class: "grid", id: "events" });
  HC.app.prepend(
    el("div", { class: "status-bar" }, connection, updated,
      el("a", { href: `${HC.base}/units/${unitId}/deadlines`, id: "deadlines-link" }, t("deadlines_link"))),
    totals,
    el("section", {}, el("h2", {}, t("below")), children),
    el("section", {}, el("h2", {}, t("own_events")), events),
  );

  function renderTotals(tt) {
    const cell = (key, value) => el("div", { class: "total", dataset: { total: key } }, el("b", {}, value), el("span", {}, t(`total_${key}`)));
    totals.replaceChildren(
      cell("units", tt.units),
      cell("events", tt.events),
      cell("venues", tt.venues),
      cell("approved", `${tt.approved}/${tt.venues}`),
      cell("registered", tt.registered),
      cell("capacity", tt.capacity),
      cell("checked_in", tt.checked_in),
      cell("video_passed", `${tt.video_passed}/${tt.venues}`),
      cell("video_live", `${tt.video_live}/${tt.venues}`),
      cell("overdue", tt.overdue),
    );
  }

  // A tile's colour says the worst of it: red when venues are overdue, amber when some wait for approval.
  function tile(id, href, title, tt) {
    const level = tt.overdue > 0 ? " bad" : tt.approved < tt.venues ? " warn" : "";
    return el("a", { class: `tile${level}`, id, href },
      el("h3", {}, el("span", {}, title)),
      el("div", {}, t("venues_line", tt)),
      el("div", {}, t("live_line", tt)),
      tt.overdue > 0 ? el("div", { class: "bad-text" }, t("overdue_line", { n: tt.overdue })) : null);
  }

  function render() {
    const o = state.overview;
    renderTotals(o.totals);
    children.replaceChildren(...(o.children.length
      ? o.children.map((c) => tile(`unit-${c.id}`, `${HC.base}/units/${c.id}`, c.name, c.totals))
      : [el("p", { class: "hint" }, t("none_below"))]));
    events.replaceChildren(...(o.events.length
      ? o.events.map((e) => tile(`event-${e.id}`, `${HC.base}/events/${e.id}`, `${e.title} · ${when(e.starts_at)}`, e.totals))
      : [el("p", { class: "hint" }, t("no_events"))]));
    updated.textContent = t("updated", { time: new Date().toTimeString().slice(0, 8) });
  }

  function applyChange(message) {
    const o = state.overview;
    if (!o) return;
    o.totals = message.totals;
    if (message.child) {
      const at = o.children.findIndex((c) => c.id === message.child.id);
      if (at >= 0) o.children[at] = message.child;
      else o.children.push(message.child);
    }
    if (message.event) {
      const at = o.events.findIndex((e) => e.id === message.event.id);
      if (at >= 0) o.events[at] = message.event;
      else o.events.push(message.event);
    }
    render();
    const moved = message.child ? `unit-${message.child.id}` : message.event ? `event-${message.event.id}` : null;
    if (moved) document.getElementById(moved)?.classList.add("flash");
  }

  HC.follow(() => `/api/v1/units/${unitId}/live`, connection, (message) => {
    if (message.type === "snapshot") {
      state.overview = message.overview;
      render();
    } else if (message.type === "change") {
      applyChange(message);
    }
  });
})();
