"use strict";
// The organiser dashboard: totals, one tile per venue coloured by its worst state, the countdown
// to the next deadline and a feed of changes, kept current by the live WebSocket feed.
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    next_deadline: ["下一截止：{title}，{left}", "Next deadline: {title}, {left}"],
    no_deadline: ["没有待到期的截止事项", "No deadline ahead"],
    filter_state: ["状态", "State"],
    filter_region: ["地区", "Region"],
    filter_all: ["全部", "all"],
    filter_attention: ["需要关注", "needs attention"],
    filter_pending: ["待批准", "approval pending"],
    filter_late: ["逾期", "late"],
    filter_no_list: ["未报名", "no list yet"],
    filter_over: ["超出容量", "over capacity"],
    filter_video: ["视频未通过", "video not passed"],
    filter_link: ["链路异常", "link not live"],
    all_regions: ["全部地区", "all regions"],
    list_none: ["未报名", "no list"],
    list_count: ["名单 {n}/{cap}", "list {n}/{cap}"],
    list_late: ["迟交", "late"],
    list_returned: ["名单已退回", "list returned"],
    over: ["超出容量", "over capacity"],
    overdue: ["逾期：{what}", "overdue: {what}"],
    delegations_overdue: ["{n} 个代表团逾期未报齐", "{n} delegations overdue"],
    online: ["线上 {n}", "online {n}"],
    checked: ["签到 {n}/{cap}", "in {n}/{cap}"],
    absent: ["未到 {n}", "not arrived {n}"],
    total_absent: ["未到", "not arrived"],
    shown: ["显示 {n}/{all} 个会场", "showing {n} of {all} venues"],
    feed: ["最新动态", "Recent changes"],
    feed_empty: ["暂无动态", "Nothing yet"],
    "what_registration.submitted": ["提交了参会名单", "submitted its list"],
    "what_attendee.replaced": ["更换了参会人员", "replaced an attendee"],
    "what_venue.approved": ["获得批准", "was approved"],
    "what_venue.rejected": ["未获批准", "was not approved"],
    "what_venue.created": ["新增会场", "was added"],
    "what_video_check.passed": ["视频调试通过", "passed the video test"],
    "what_video_check.failed": ["视频调试未通过", "failed the video test"],
    "what_video_link.connected": ["视频链路已连通", "video link is live"],
    "what_video_link.disconnected": ["视频链路已断开", "video link switched off"],
    "what_video_link.lost": ["视频链路丢失", "video link lost"],
    "what_checkin.created": ["有人签到入场", "someone checked in"],
    "what_checkin.closed": ["有人签退", "someone checked out"],
    "what_deliverable.done": ["报送了材料", "delivered a document"],
    "what_deliverable.reviewed": ["材料已审核", "materials reviewed"],
    "what_room.capacity_changed": ["会场容量调整", "room capacity changed"],
    "what_attestation.recorded": ["登记了入场凭证", "recorded an admission proof"],
    "what_deadline.created": ["新增截止事项", "a deadline was added"],
    "what_event.created": ["新建会议", "the meeting was created"],
    "what_event.updated": ["会议信息已更新", "the meeting was updated"],
    "what_outbox.queued": ["发送了提醒邮件", "a reminder email was queued"],
    people_to_call: ["联系人与技术人员", "Whom to call"],
    venue_contact: ["会场联系邮箱", "Venue contact"],
    venue_technician: ["视频调试负责人", "Video technician"],
    no_technician: ["尚未报送", "not sent yet"],
    call: ["拨打", "Call"],
    delegations: ["代表团", "Delegations"],
    materials: ["报送材料", "Materials sent"],
    material_none: ["未报送", "not sent"],
    material_sent: ["{at} 报送 · {n} 个文件", "sent {at} · {n} files"],
    material_open: ["查看", "Open"],
    material_returned: ["已退回", "returned"],
    material_accepted: ["已通过", "accepted"],
    download_all: ["全部下载（zip）", "Download all (zip)"],
    materials_returned: ["{n} 项材料被退回", "{n} materials returned"],
    on_air_now: ["正在上屏", "on air"],
    on_air_next: ["下一个上屏", "on air next"],
    on_air_link: ["上屏但链路不在线", "on air, link not live"],
    agenda_link: ["议程", "Run of show"],
    delegation_count: ["{n}/{max} 人", "{n} of {max}"],
    delegation_short: ["{n} 人，不足 {min}", "{n}, short of {min}"],
  });

  const eventId = HC.data.event;
  const organise = HC.data.organise === "true";
  const viewerResult = el("div", { "aria-live": "polite" });
  const viewer = el("section", { class: "card", id: "submission", hidden: true });
  const state = { onAir: { now: null, next: null }, seq: 0, venues: new Map(), totals: null, deadlines: [], arriveBy: null, open: new Set(), people: new Map() };
  const FILTERS = ["all", "attention", "pending", "late", "no_list", "over", "video", "link"];

  const connection = el("span", { class: "connection down", id: "connection" }, t("connecting"));
  const updated = el("span", { class: "hint", id: "updated" });
  const next = el("span", { class: "countdown", id: "countdown" });
  const totals = el("div", { class: "totals", id: "totals" });
  const stateFilter = el("select", { id: "filter-state", onchange: renderGrid },
    FILTERS.map((f) => el("option", { value: f }, t(`filter_${f}`))));
  const regionFilter = el("select", { id: "filter-region", onchange: renderGrid });
  const shown = el("span", { class: "hint", id: "shown" });
  const grid = el("div", { class: "grid", id: "venues", "aria-live": "polite" });
  const feed = el("ol", { class: "feed", id: "feed" }, el("li", { class: "hint" }, t("feed_empty")));
  document.body.classList.add("dashboard");
  const up = document.getElementById("up"); // the link to the unit that holds the event
  HC.app.replaceChildren(
    up || "",
    el("p", {}, el("a", { href: `${HC.base}/events/${eventId}/agenda`, id: "agenda-link" }, `▶ ${t("agenda_link")}`)),
    el("div", { class: "status-bar" }, connection, next, updated),
    viewerResult,
    viewer,
    totals,
    el("div", { class: "board" },
      el("section", {},
        el("div", { class: "filters" },
          el("label", { class: "inline" }, t("filter_state"), stateFilter),
          el("label", { class: "inline" }, t("filter_region"), regionFilter),
          shown),
        grid),
      el("section", { class: "card" }, el("h2", {}, t("feed")), feed)),
  );

  /** Whether the venue is on air now ("now") or next ("next") in the run of show. */
  function onAir(v) {
    const { now, next } = state.onAir;
    return now && now.venue_id === v.id ? "now" : next && next.venue_id === v.id ? "next" : null;
  }

  /** What is wrong with a venue, worst first: [severity, text]. */
  function problems(v) {
    const found = [];
    // On air now or next with its link not live: the worst there is during the show.
    if (onAir(v) && v.video_link !== "connected") found.push(["bad", "link"]);
    const onsite = v.registered - v.online;
    if (v.approval === "rejected") found.push(["bad", "pending"]);
    if (v.kind === "branch" && v.approval === "pending") found.push(["warn", "pending"]);
    if (v.overdue.length || v.overdue_delegations || v.late || v.list_returned || v.materials_returned) found.push(["bad", "late"]);
    if (v.registered === 0) found.push([v.overdue.length ? "bad" : "warn", "no_list"]);
    if (onsite > v.capacity || v.checked_in > v.capacity) found.push(["bad", "over"]);
    if (v.video_check === "failed") found.push(["bad", "video"]);
    if (v.video_check === "none") found.push(["warn", "video"]);
    if (v.video_link === "lost") found.push(["bad", "link"]);
    if (v.video_link === "disconnected") found.push(["warn", "link"]);
    return found;
  }

  function severity(v) {
    const found = problems(v).map(([s]) => s);
    return found.includes("bad") ? "bad" : found.includes("warn") ? "warn" : "good";
  }

  function shows(v) {
    const filter = stateFilter.value;
    if (regionFilter.value && v.region !== regionFilter.value) return false;
    if (filter === "all") return true;
    if (filter === "attention") return severity(v) !== "good";
    return problems(v).some(([, key]) => key === filter);
  }

  function deadlineTitle(id) {
    const d = state.deadlines.find((x) => x.id === id);
    return d ? d.title : "";
  }

  /** From the time people are asked to be in (`arrive_minutes_before` the start): those
   *  registered on site and not inside a room. */
  function absent(v) {
    if (state.arriveBy === null || Date.now() < state.arriveBy) return null;
    return Math.max(0, v.registered - v.online - v.checked_in);
  }

  /** Whom to call at a venue: its contact email and its technician, read when the tile is opened
   *  (a viewer gets the mobile masked, and so no number to dial). */
  async function loadPeople(id) {
    const [venue, list, delegations, delivered] = await Promise.all([api("GET", `/api/v1/venues/${id}`),
      api("GET", `/api/v1/venues/${id}/registration`), api("GET", `/api/v1/venues/${id}/delegations`),
      api("GET", `/api/v1/venues/${id}/deliverables`)]);
    state.people.set(id, {
      email: venue.ok ? venue.data.contact_email : "",
      technician: list.ok ? list.data.technician : null,
      // Organisers see the delegations in the venue's hall; a wall screen's viewer does not.
      delegations: delegations.ok ? delegations.data : [],
      delivered: delivered.ok ? delivered.data : [],
    });
    const shown = document.querySelector(`#venue-${CSS.escape(id)} [data-field=people]`);
    if (shown) shown.replaceWith(peopleBlock(id));
  }

  function peopleBlock(id) {
    const known = state.people.get(id);
    if (!known) return el("dl", { class: "people", dataset: { field: "people" } }, el("dd", { class: "hint" }, t("loading")));
    const tech = known.technician;
    const dialable = tech && tech.phone && !tech.phone.includes("*");
    return el("dl", { class: "people", dataset: { field: "people" } },
      el("dt", {}, t("venue_contact")),
      el("dd", {}, known.email ? el("a", { href: `mailto:${known.email}` }, known.email) : t("none")),
      el("dt", {}, t("venue_technician")),
      el("dd", { dataset: { field: "technician" } }, tech && tech.name
        ? [tech.name, " ", tech.phone || "",
          dialable ? el("a", { class: "call", href: `tel:${tech.phone.replace(/[^0-9+]/g, "")}` }, `☎ ${t("call")}`) : ""]
        : t("no_technician")),
      known.delegations.length ? [el("dt", {}, t("delegations")), el("dd", {}, el("ul", { class: "delegations", dataset: { field: "delegations" } },
        known.delegations.map((d) => el("li", { dataset: { delegation: d.id } }, el("a", { href: `${HC.base}/delegations/${d.id}` }, d.name), " ",
          el("span", { class: `chip ${d.short ? "warn" : "good"}` }, t(d.short ? "delegation_short" : "delegation_count", { n: d.registered, min: d.min, max: d.max }))))))] : "",
      materials(id, known.delivered));
  }

  /** Each deliverable of the event with what the venue sent for it, opened in the viewer. */
  function materials(id, delivered) {
    const deliverables = state.deadlines.filter((d) => d.kind === "deliverable");
    if (!deliverables.length) return "";
    const sent = new Map(delivered.map((s) => [s.deadline_id, s]));
    const venue = state.venues.get(id);
    return [el("dt", {}, t("materials")), el("dd", {}, el("ul", { class: "materials", dataset: { field: "materials" } },
      deliverables.map((d) => {
        const s = sent.get(d.id);
        const review = s && s.review;
        const zip = organise && el("a", { href: `${HC.base}/api/v1/events/${eventId}/deadlines/${d.id}/files.zip`, class: "zip" }, t("download_all"));
        return el("li", { dataset: { deadline: d.id } }, el("b", {}, d.title), " ", zip || "", " ",
          !s ? el("span", { class: "chip warn" }, t("material_none"))
            : [el("span", { class: `chip ${review && review.status === "returned" ? "bad" : "good"}` },
              review ? t(review.status === "returned" ? "material_returned" : "material_accepted") : t("material_sent", { at: when(s.submitted_at), n: s.files.length })),
            " ", el("button", { type: "button", class: "open-material", onclick: () => HC.submissionViewer(viewer, {
              who: venue ? venue.name : "", title: d.title, submission: s, reviews: organise,
              done() { state.people.delete(id); loadPeople(id); },
              failed(problem) { banner(viewerResult, "bad", HC.problemText(problem)); },
            }) }, t("material_open"))]);
      })))];
  }

  function peopleToCall(v) {
    const details = el("details", { class: "to-call", open: state.open.has(v.id) || undefined },
      el("summary", {}, t("people_to_call")),
      state.open.has(v.id) ? peopleBlock(v.id) : "");
    details.addEventListener("toggle", () => {
      if (!details.open) {
        state.open.delete(v.id);
        return;
      }
      state.open.add(v.id);
      if (!details.querySelector("[data-field=people]")) details.append(peopleBlock(v.id));
      if (!state.people.has(v.id)) loadPeople(v.id);
    });
    return details;
  }

  function tile(v) {
    const tone = { none: "warn", passed: "good", failed: "bad" }[v.video_check] || "muted";
    const linkTone = { connected: "good", lost: "bad", disconnected: "warn" }[v.video_link] || "muted";
    const approvalTone = { approved: "good", rejected: "bad" }[v.approval] || "warn";
    const onsite = v.registered - v.online;
    const chips = [
      el("span", { class: `chip ${approvalTone}`, dataset: { field: "approval" } }, t(`approval_${v.approval}`)),
      v.registered === 0
        ? el("span", { class: `chip ${v.overdue.length ? "bad" : "warn"}`, dataset: { field: "list" } }, t("list_none"))
        : el("span", { class: `chip ${onsite > v.capacity ? "bad" : "good"}`, dataset: { field: "list" } },
          t("list_count", { n: onsite, cap: v.capacity })),
      v.late && el("span", { class: "chip bad" }, t("list_late")),
      v.list_returned && el("span", { class: "chip bad", dataset: { field: "list-returned" } }, t("list_returned")),
      v.materials_returned > 0 &&
        el("span", { class: "chip bad", dataset: { field: "materials-returned" } }, t("materials_returned", { n: v.materials_returned })),
      v.online > 0 && el("span", { class: "chip info" }, t("online", { n: v.online })),
      el("span", { class: `chip ${tone}`, dataset: { field: "video-check" } }, t(`video_check_${v.video_check}`)),
      el("span", { class: `chip ${linkTone}`, dataset: { field: "video-link" } }, t(`video_link_${v.video_link}`)),
      v.overdue.length > 0 &&
        el("span", { class: "chip bad" }, t("overdue", { what: v.overdue.map(deadlineTitle).filter(Boolean).join("、") || v.overdue.length })),
      onAir(v) && el("span", { class: `chip ${v.video_link === "connected" ? "info" : "bad"}`, dataset: { field: "on-air" } },
        v.video_link === "connected" ? t(onAir(v) === "now" ? "on_air_now" : "on_air_next") : t("on_air_link")),
      v.overdue_delegations > 0 &&
        el("span", { class: "chip bad", dataset: { field: "overdue-delegations" } }, t("delegations_overdue", { n: v.overdue_delegations })),
    ];
    const fill = el("i");
    fill.style.width = `${Math.min(100, v.capacity ? (100 * v.checked_in) / v.capacity : 0)}%`;
    return el("article", {
      class: `tile ${severity(v)}`,
      id: `venue-${v.id}`,
      dataset: { venueId: v.id, registered: v.registered, videoCheck: v.video_check, videoLink: v.video_link, checkedIn: v.checked_in },
    },
    el("h3", {}, el("span", {}, v.name), el("small", {}, v.kind === "main" ? t("kind_main") : v.region)),
    el("div", { class: "chips" }, chips),
    el("div", { class: `meter${v.checked_in > v.capacity ? " over" : ""}` }, fill),
    el("div", { class: "numbers" }, el("span", {}, t("checked", { n: v.checked_in, cap: v.capacity })),
      absent(v) ? el("span", { class: "chip warn", dataset: { field: "absent" } }, t("absent", { n: absent(v) })) : ""),
    peopleToCall(v));
  }

  function renderTotals() {
    const tt = state.totals;
    if (!tt) return;
    const cell = (key, value) => el("div", { class: "total", dataset: { total: key } }, el("b", {}, value), el("span", {}, t(`total_${key}`)));
    totals.replaceChildren(
      cell("venues", tt.venues),
      cell("approved", `${tt.approved}/${tt.venues}`),
      cell("registered", tt.registered),
      cell("capacity", tt.capacity),
      cell("checked_in", tt.checked_in),
      state.arriveBy !== null && Date.now() >= state.arriveBy
        ? cell("absent", [...state.venues.values()].reduce((n, v) => n + (absent(v) || 0), 0)) : "",
      cell("video_passed", `${tt.video_passed}/${tt.venues}`),
      cell("video_live", `${tt.video_live}/${tt.venues}`),
    );
  }

  function renderRegions() {
    const chosen = regionFilter.value;
    const regions = [...new Set([...state.venues.values()].map((v) => v.region).filter(Boolean))].sort((a, b) => a.localeCompare(b, "zh"));
    regionFilter.replaceChildren(el("option", { value: "" }, t("all_regions")), regions.map((r) => el("option", { value: r }, r)));
    regionFilter.value = regions.includes(chosen) ? chosen : "";
  }

  function renderGrid() {
    const all = [...state.venues.values()];
    const visible = all.filter(shows);
    grid.replaceChildren(...visible.map(tile));
    shown.textContent = t("shown", { n: visible.length, all: all.length });
  }

  function stamp(iso) {
    updated.textContent = t("updated", { time: iso ? when(iso).slice(-5) : new Date().toTimeString().slice(0, 8) });
  }

  function addToFeed(message) {
    const venue = message.venue ? message.venue.name : "";
    const key = `what_${message.what}`;
    const text = HC.t(key) === key ? message.what : t(key);
    if (feed.firstChild && feed.firstChild.classList.contains("hint")) feed.replaceChildren();
    feed.prepend(el("li", { dataset: { seq: message.seq } },
      el("time", {}, message.at ? when(message.at).slice(-5) : ""), venue ? `${venue}：` : "", text));
    while (feed.children.length > 100) feed.lastChild.remove();
  }

  function applySnapshot(dashboard) {
    state.seq = dashboard.seq;
    state.arriveBy = HC.arriveBy(dashboard.event);
    state.totals = dashboard.totals;
    state.venues = new Map(dashboard.venues.map((v) => [v.id, v]));
    renderTotals();
    renderRegions();
    renderGrid();
    stamp();
  }

  function applyChange(message) {
    if (message.seq <= state.seq) {
      addToFeed(message); // a replayed recent change: history for the feed only
      return;
    }
    if (message.seq !== state.seq + 1) {
      reconnect(0); // a gap should not happen; start again from where we are
      return;
    }
    state.seq = message.seq;
    state.totals = message.totals;
    if (message.agenda) {
      state.onAir = message.agenda;
      renderGrid();
    }
    // A list sent again may name another technician, and materials may come or be reviewed:
    // read them again if the tile is open.
    const reread = message.what.startsWith("registration.") || message.what.startsWith("deliverable.");
    if (message.venue && reread && state.people.delete(message.venue.id) && state.open.has(message.venue.id)) {
      loadPeople(message.venue.id);
    }
    addToFeed(message);
    renderTotals();
    if (message.venue) {
      const isNew = !state.venues.has(message.venue.id);
      state.venues.set(message.venue.id, message.venue);
      if (isNew) renderRegions();
      const old = document.getElementById(`venue-${message.venue.id}`);
      if (old && shows(message.venue)) {
        const fresh = tile(message.venue);
        fresh.classList.add("flash");
        old.replaceWith(fresh);
      } else {
        renderGrid();
      }
    } else {
      loadDeadlines();
    }
    stamp(message.at);
  }

  // The first connection starts where `from` says (a little before the first picture, so that
  // the list of changes is not empty); each later one resumes after the last change shown.
  let feedConnection = null;
  function connect(from) {
    let first = true;
    const path = () => {
      const since = first ? from : state.seq;
      first = false;
      return `/api/v1/events/${eventId}/live${since === undefined ? "" : `?since=${since}`}`;
    };
    feedConnection = HC.follow(path, connection, (message) => {
      if (message.type === "snapshot") applySnapshot(message.dashboard);
      else if (message.type === "change") applyChange(message);
    });
  }

  function reconnect() {
    feedConnection.restart();
  }

  async function loadDeadlines() {
    const reply = await api("GET", `/api/v1/events/${eventId}/deadlines`);
    if (reply.ok) state.deadlines = reply.data;
    tick();
  }

  function tick() {
    const now = Date.now();
    const ahead = state.deadlines.filter((d) => Date.parse(d.due_at) > now).sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at))[0];
    next.textContent = ahead ? t("next_deadline", { title: ahead.title, left: HC.countdown(ahead.due_at, now) }) : t("no_deadline");
    // The moment people are due in, 未到 appears without waiting for a change.
    const due = state.arriveBy !== null && now >= state.arriveBy;
    if (due !== state.arrivalShown) {
      state.arrivalShown = due;
      renderTotals();
      renderGrid();
    }
  }

  async function start() {
    await loadDeadlines();
    const agenda = await api("GET", `/api/v1/events/${eventId}/agenda`);
    if (agenda.ok) state.onAir = { now: agenda.data.now, next: agenda.data.next };
    setInterval(tick, 1000);
    // Draw the board at once, then let the feed replay the last changes for the history list.
    const first = await api("GET", `/api/v1/events/${eventId}/dashboard`);
    if (first.ok) {
      applySnapshot(first.data);
      connect(Math.max(0, first.data.seq - 20));
    } else {
      connect();
    }
  }
  start();
})();
