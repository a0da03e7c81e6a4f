"use strict";
// The run of show: every item of the programme with what is on now and next, a clock and the
// countdown to the next item, followed live. The director's controls (next item, delay, skip)
// take a second press within a few seconds, so that a double tap on a tablet does nothing twice.
(() => {
  const { t, el, api, banner } = HC;
  HC.texts({
    agenda_title: ["议程", "Run of show"],
    now_on: ["正在进行", "On now"],
    next_up: ["下一项", "Next"],
    nothing_now: ["尚未开始", "Not started"],
    nothing_next: ["议程已结束", "Nothing after this"],
    starts_in: ["{time} 后开始", "starts in {time}"],
    started_at: ["{at} 开始", "started {at}"],
    on_air: ["上屏：{venue}", "On air: {venue}"],
    advance: ["开始下一项", "Start the next item"],
    delay5: ["推迟 5 分钟", "Delay 5 minutes"],
    skip_next: ["跳过下一项", "Skip the next item"],
    press_again: ["再按一次确认", "Press again to confirm"],
    moved: ["议程已被他人更新，已显示最新情况，请确认后再操作。", "Someone else moved the show; this is where it is now. Check, then press again."],
    status_upcoming: ["待开始", "upcoming"],
    status_live: ["进行中", "live"],
    status_done: ["已结束", "done"],
    status_skipped: ["已跳过", "skipped"],
    planned: ["计划 {at}", "planned {at}"],
    expected: ["预计 {at}", "expected {at}"],
    minutes: ["{n} 分钟", "{n} min"],
    empty: ["尚未编排议程。", "No programme yet."],
    kind_video: ["视频", "video"],
    kind_speech: ["讲话", "speech"],
    kind_performance: ["表演", "performance"],
    kind_award: ["颁奖", "award"],
    kind_link: ["连线", "link"],
    kind_other: ["其他", "other"],
  });
  const eventId = HC.data.event;
  const control = HC.data.control === "true";
  const wall = HC.data.wall === "true";
  const state = { agenda: null };
  if (wall) document.body.classList.add("wall");

  const clock = el("div", { class: "clock", id: "clock" });
  const connection = el("span", { class: "connection down", id: "connection" }, t("connecting"));
  const onNow = el("section", { class: "card on-now", id: "on-now" });
  const result = el("div", { id: "agenda-result", "aria-live": "polite" });
  const controls = el("div", { class: "row controls", id: "controls", hidden: !control });
  const list = el("ol", { class: "agenda", id: "agenda" });
  HC.app.replaceChildren(el("div", { class: "status-bar" }, connection, clock), onNow, controls, result,
    wall ? "" : el("section", { class: "card" }, el("h2", {}, t("agenda_title")), list));

  const hhmm = (iso) => new Date(iso).toLocaleTimeString(HC.lang === "en" ? "en-GB" : "zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });

  function item(i, role) {
    return el("div", { class: `item ${role}`, dataset: { item: i.id } },
      el("p", { class: "label" }, t(role === "now" ? "now_on" : "next_up")),
      el("p", { class: "title" }, i.title),
      el("p", { class: "meta" }, t(`kind_${i.kind}`), i.speaker ? ` · ${i.speaker}` : "",
        i.venue_id ? [" · ", el("b", { class: "on-air" }, t("on_air", { venue: i.venue_name || "" }))] : ""),
      el("p", { class: "when", dataset: { start: role === "now" ? i.actual_start || i.expected_start : i.expected_start, role } }));
  }

  function render() {
    const a = state.agenda;
    onNow.replaceChildren(
      a.now ? item(a.now, "now") : el("div", { class: "item now" }, el("p", { class: "label" }, t("now_on")), el("p", { class: "title muted" }, t("nothing_now"))),
      a.next ? item(a.next, "next") : el("div", { class: "item next" }, el("p", { class: "label" }, t("next_up")), el("p", { class: "title muted" }, t("nothing_next"))));
    list.replaceChildren(...(a.items.length ? a.items.map((i) => el("li", { class: `status-${i.status}`, dataset: { item: i.id, status: i.status } },
      el("span", { class: "time" }, hhmm(i.expected_start)),
      el("span", { class: "title" }, i.title, i.speaker ? el("small", {}, ` ${i.speaker}`) : ""),
      i.venue_id ? el("span", { class: "chip info" }, t("on_air", { venue: i.venue_name || "" })) : "",
      el("span", { class: "hint" }, t("minutes", { n: i.minutes }), " · ", t("planned", { at: hhmm(i.planned_start) })),
      el("span", { class: `chip ${{ live: "good", done: "muted", skipped: "warn", upcoming: "info" }[i.status]}` }, t(`status_${i.status}`)))) : [el("li", { class: "hint" }, t("empty"))]));
    renderControls();
    tick();
  }

  // A control's first press arms it for four seconds; only the second press sends.
  function armed(id, label, action) {
    const button = el("button", { type: "button", id, class: id === "advance" ? "primary big" : "big" }, t(label));
    let timer = null;
    button.addEventListener("click", async () => {
      if (!button.dataset.armed) {
        button.dataset.armed = "1";
        button.textContent = t("press_again");
        timer = setTimeout(() => { delete button.dataset.armed; button.textContent = t(label); }, 4000);
        return;
      }
      clearTimeout(timer);
      button.disabled = true;
      const reply = await action();
      if (reply.ok) {
        state.agenda = reply.data;
        result.replaceChildren();
        render();
      } else {
        banner(result, "bad", reply.problem && reply.problem.code === "agenda_moved" ? t("moved") : HC.problemText(reply.problem));
        load();
      }
    });
    return button;
  }

  function renderControls() {
    if (!control) return;
    const a = state.agenda;
    const base = `/api/v1/events/${eventId}/agenda`;
    const target = a.now || a.next;
    controls.replaceChildren(
      armed("advance", "advance", () => api("POST", `${base}/advance`, { from: a.now ? a.now.id : null })),
      target ? armed("delay", "delay5", () => api("POST", `${base}/items/${target.id}/delay`, { minutes: 5 })) : "",
      a.next ? armed("skip", "skip_next", () => api("POST", `${base}/items/${a.next.id}/skip`, {})) : "");
  }

  function tick() {
    clock.textContent = new Date().toLocaleTimeString(HC.lang === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai" });
    for (const when of onNow.querySelectorAll(".when")) {
      const start = Date.parse(when.dataset.start);
      when.textContent = when.dataset.role === "now" ? t("started_at", { at: hhmm(when.dataset.start) })
        : start > Date.now() ? t("starts_in", { time: HC.span(start - Date.now()) }) : t("expected", { at: hhmm(when.dataset.start) });
    }
  }

  async function load() {
    const reply = await api("GET", `/api/v1/events/${eventId}/agenda`);
    if (!reply.ok) return banner(result, "bad", HC.problemText(reply.problem));
    state.agenda = reply.data;
    render();
  }

  async function start() {
    await load();
    HC.follow(() => `/api/v1/events/${eventId}/agenda/live`, connection, (message) => {
      if (message.agenda) load();
    });
    setInterval(tick, 1000);
  }
  start();
})();
