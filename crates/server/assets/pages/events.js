"use strict";
// The admin's home: every meeting, and a form that creates a meeting with its venues and then
// shows each venue's two sign-in links (their tokens are shown this once).
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    meetings: ["会议", "Meetings"],
    no_meetings: ["还没有会议，请在下方创建。", "No meetings yet; create one below."],
    open_dashboard: ["打开看板", "Open the dashboard"],
    create: ["新建会议", "New meeting"],
    title: ["会议名称", "Title"],
    timezone: ["时区", "Time zone"],
    starts_at: ["开始时间", "Starts"],
    ends_at: ["结束时间", "Ends"],
    registration_deadline: ["报名截止", "Registration deadline"],
    video_from: ["视频调试开始", "Video test from"],
    video_to: ["视频调试结束", "Video test until"],
    default_capacity: ["每个会场默认容量", "Default seats per venue"],
    organizer_email: ["会务组邮箱", "Organisers' email"],
    venues: ["会场（每行一个：名称，地区，联系邮箱，容量（可选））", "Venues (one per line: name, region, contact email, seats (optional))"],
    first_is_main: ["第一行是主会场", "The first line is the main venue"],
    create_button: ["创建会议和会场", "Create the meeting and venues"],
    created: ["会议已创建。以下链接只显示这一次，请分别发给各会场联络人和技术人员。", "The meeting is created. These links are shown only this once: send each to the venue's coordinator and technician."],
    venue_line: ["第 {n} 行：{message}", "line {n}: {message}"],
    venue_line_format: ["格式应为：名称，地区，联系邮箱，容量", "expected: name, region, contact email, seats"],
    col_venue: ["会场", "Venue"],
    col_coordinator: ["联络人链接", "Coordinator link"],
    col_technician: ["技术人员链接", "Technician link"],
    starts: ["{at} 开始", "starts {at}"],
  });

  const listSection = el("section", { class: "card", id: "events" }, t("loading"));
  const result = el("section", { id: "created" });
  const fields = {
    title: el("input", { name: "title", required: true }),
    timezone: el("input", { name: "timezone", value: "Asia/Shanghai" }),
    starts_at: el("input", { type: "datetime-local", name: "starts_at" }),
    ends_at: el("input", { type: "datetime-local", name: "ends_at" }),
    registration_deadline: el("input", { type: "datetime-local", name: "registration_deadline" }),
    "video_check.starts_at": el("input", { type: "datetime-local", name: "video_check.starts_at" }),
    "video_check.ends_at": el("input", { type: "datetime-local", name: "video_check.ends_at" }),
    default_capacity: el("input", { type: "number", name: "default_capacity", value: "30", min: "1" }),
    organizer_email: el("input", { type: "email", name: "organizer_email" }),
  };
  const venues = el("textarea", { name: "venues", rows: "8", placeholder: "主会场，北京，org@example.cn，300\n四川省分会场，四川，sc@example.cn，30" });
  const firstIsMain = el("input", { type: "checkbox", name: "first_is_main", checked: true });
  const formBanner = el("div", { id: "form-banner", "aria-live": "polite" });
  const label = (key, input) => el("label", {}, t(key), input);
  const form = el("form", { class: "stack", id: "create-event", onsubmit: create },
    label("title", fields.title),
    el("div", { class: "row" }, label("starts_at", fields.starts_at), label("ends_at", fields.ends_at), label("timezone", fields.timezone)),
    el("div", { class: "row" }, label("registration_deadline", fields.registration_deadline),
      label("video_from", fields["video_check.starts_at"]), label("video_to", fields["video_check.ends_at"])),
    el("div", { class: "row" }, label("default_capacity", fields.default_capacity), el("label", { class: "grow" }, t("organizer_email"), fields.organizer_email)),
    label("venues", venues),
    el("label", { class: "inline" }, firstIsMain, t("first_is_main")),
    el("div", {}, el("button", { type: "submit", class: "primary" }, t("create_button"))),
    formBanner);
  HC.app.replaceChildren(listSection, result, el("section", { class: "card" }, el("h2", {}, t("create")), form));

  /** `2021-11-23T10:00` in time zone `zone` as RFC 3339 with that zone's offset then. */
  function withOffset(local, zone) {
    if (!local) return null;
    const guess = new Date(`${local}:00Z`);
    let offset = "+00:00";
    try {
      const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
        .formatToParts(guess).find((p) => p.type === "timeZoneName").value;
      const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
      if (m) offset = `${m[1]}:${m[2] || "00"}`;
    } catch (_) {
      // An unknown zone: the server names it in its answer.
    }
    return `${local}:00${offset}`;
  }

  function parseVenues() {
    const lines = venues.value.split("\n").map((l) => l.trim()).filter(Boolean);
    return lines.map((line, i) => {
      const parts = line.split(/\t|,|，/).map((p) => p.trim());
      const venue = { name: parts[0], kind: i === 0 && firstIsMain.checked ? "main" : "branch", region: parts[1] || "", contact_email: parts[2] || "" };
      if (parts[3]) venue.rooms = [{ name: parts[0], capacity: Number(parts[3]) }];
      return venue;
    });
  }

  async function create(event) {
    event.preventDefault();
    Object.values(fields).forEach((f) => f.classList.remove("invalid"));
    const zone = fields.timezone.value.trim();
    const body = {
      title: fields.title.value,
      timezone: zone,
      starts_at: withOffset(fields.starts_at.value, zone),
      ends_at: withOffset(fields.ends_at.value, zone),
      registration_deadline: withOffset(fields.registration_deadline.value, zone),
      video_check: { starts_at: withOffset(fields["video_check.starts_at"].value, zone), ends_at: withOffset(fields["video_check.ends_at"].value, zone) },
      default_capacity: Number(fields.default_capacity.value),
      organizer_email: fields.organizer_email.value,
    };
    const made = await api("POST", "/api/v1/events", body);
    if (!made.ok) {
      const errors = made.problem.errors || [];
      errors.forEach((e) => fields[e.field] && fields[e.field].classList.add("invalid"));
      banner(formBanner, "bad", [HC.problemText(made.problem), ...errors.map((e) => `${e.field}：${e.message}`)].join(" "));
      return;
    }
    const meeting = made.data;
    const rows = [];
    const failures = [];
    for (const [i, venue] of parseVenues().entries()) {
      const reply = await api("POST", `/api/v1/events/${meeting.id}/venues`, venue);
      if (reply.ok) rows.push(reply.data);
      else failures.push(t("venue_line", { n: i + 1, message: (reply.problem.errors || []).map((e) => `${e.field}：${e.message}`).join("；") || HC.problemText(reply.problem) }));
    }
    const link = (token, next) => `${location.origin}${HC.base}/signin?token=${token}&next=${next}`;
    result.replaceChildren(el("div", { class: "card" },
      el("h2", {}, meeting.title),
      el("p", { class: "banner good" }, t("created")),
      failures.length ? el("p", { class: "banner bad", role: "alert" }, failures.join(" ")) : "",
      el("p", {}, el("a", { href: `${HC.base}/events/${meeting.id}` }, t("open_dashboard"))),
      el("div", { class: "table-scroll" }, el("table", { id: "venue-links" },
        el("thead", {}, el("tr", {}, el("th", {}, t("col_venue")), el("th", {}, t("col_coordinator")), el("th", {}, t("col_technician")))),
        el("tbody", {}, rows.map((v) => el("tr", {},
          el("td", {}, v.name),
          el("td", {}, el("code", {}, link(v.coordinator_token, `/venues/${v.id}`))),
          el("td", {}, el("code", {}, link(v.technician_token, `/venues/${v.id}/video`))))))))));
    banner(formBanner, "", "");
    loadList();
  }

  async function loadList() {
    const reply = await api("GET", "/api/v1/events");
    if (!reply.ok) {
      banner(listSection, "bad", HC.problemText(reply.problem));
      return;
    }
    listSection.replaceChildren(el("h2", {}, t("meetings")),
      reply.data.length === 0 ? el("p", { class: "hint" }, t("no_meetings")) :
        el("ul", { class: "stack" }, reply.data.map((e) => el("li", {},
          el("a", { href: `${HC.base}/events/${e.id}` }, e.title), " ",
          el("span", { class: "hint" }, t("starts", { at: when(e.starts_at) }))))));
  }
  loadList();
})();
