"use strict";
// The door page: find a person by name or phone digits, check in or out with one tap, see the
// room's occupancy, and read plainly why a check-in was refused. Refreshes every few seconds so
// that two doors of one room agree.
(() => {
  const { t, el, api, banner } = HC;
  HC.texts({
    room: ["会议室", "Room"],
    search: ["输入姓名或手机号数字查找", "Type a name or phone digits"],
    check_in: ["签到", "Check in"],
    check_out: ["签退", "Check out"],
    inside_here: ["已在场", "inside"],
    inside_other: ["在其他会议室", "in another room"],
    waiting: ["未签到", "not yet in"],
    absent: ["未到", "not arrived"],
    absent_count: ["未到 {n} 人（应于 {time} 前到场）", "{n} not arrived (due in by {time})"],
    absent_only: ["只看未到", "Only those not arrived"],
    checked_in_ok: ["{name} 已签到。", "{name} checked in."],
    checked_out_ok: ["{name} 已签退。", "{name} checked out."],
    nobody: ["没有找到此人。线上参会和已更换的人员不在此列。", "Nobody found. People attending online or replaced are not listed."],
    in_room: ["在场人数", "Inside"],
    more: ["还有 {n} 人，请输入更多字符缩小范围。", "{n} more; type more to narrow the list."],
    not_approved: ["会场尚未获得批准，暂不能签到入场。", "The venue is not approved yet: nobody may be admitted."],
    sign_in_sheet: ["打印纸质签到表", "Print a paper sign-in sheet"],
  });

  const venueId = HC.data.venue;
  const SHOWN = 50;
  const state = { venue: null, people: [], inside: new Map(), roomId: null, arriveBy: null, offsetMinutes: 0, absentOnly: false };

  const roomSelect = el("select", { id: "room", onchange: () => { state.roomId = roomSelect.value; localStorage.setItem(`huichang-room-${venueId}`, state.roomId); refresh(); } });
  const occupancy = el("div", { class: "occupancy", id: "occupancy", "aria-live": "polite" });
  const search = el("input", { type: "search", class: "search", id: "search", placeholder: t("search"), autocomplete: "off", oninput: render });
  const message = el("div", { id: "door-banner", "aria-live": "assertive" });
  const people = el("ul", { class: "people", id: "people" });
  const notice = el("div");
  const absentLine = el("div", { id: "absent", class: "row", hidden: true });
  const contacts = el("section", { class: "card", id: "contacts", hidden: true });
  const sheetLink = el("a", { id: "sign-in-sheet" }, t("sign_in_sheet"));
  const onAirBox = el("section", { class: "on-air-box", id: "on-air", hidden: true });
  HC.onAir(onAirBox, { eventId: HC.data.event, venueId, cue: false });
  HC.app.replaceChildren(
    onAirBox,
    el("section", { class: "card" },
      el("div", { class: "row" }, el("label", { class: "grow" }, t("room"), roomSelect),
        el("div", {}, el("div", { class: "hint" }, t("in_room")), occupancy)),
      notice, absentLine, sheetLink),
    el("section", { class: "card" }, search, message, people),
    contacts,
  );

  function room() {
    return state.venue.rooms.find((r) => r.id === state.roomId) || state.venue.rooms[0];
  }

  function showOccupancy() {
    const r = room();
    occupancy.textContent = `${r.occupancy} / ${r.capacity}`;
    occupancy.classList.toggle("full", r.occupancy >= r.capacity);
  }

  function matches(person, query) {
    if (!query) return true;
    const digits = query.replace(/\D/g, "");
    if (digits && digits === query.replace(/\s/g, "")) return (person.phone || "").replace(/\D/g, "").includes(digits);
    return person.name.includes(query) || person.name.toLowerCase().includes(query.toLowerCase());
  }

  /** From the time people are asked to be in, whoever is not inside a room is 未到. */
  function arrivalDue() {
    return state.arriveBy !== null && Date.now() >= state.arriveBy;
  }

  function showAbsent() {
    const absent = state.people.filter((p) => !state.inside.has(p.id));
    absentLine.hidden = !arrivalDue();
    if (absentLine.hidden) return;
    // The event's own clock time (its offset, e.g. +08:00), whatever the browser's zone.
    const time = new Date(state.arriveBy + state.offsetMinutes * 60000).toISOString().slice(11, 16);
    const toggle = el("label", { class: "inline" }, el("input", { type: "checkbox", id: "absent-only", checked: state.absentOnly,
      onchange: (e) => { state.absentOnly = e.target.checked; render(); } }), t("absent_only"));
    absentLine.replaceChildren(el("span", { class: `chip ${absent.length ? "warn" : "good"}`, id: "absent-count" }, t("absent_count", { n: absent.length, time })), toggle);
  }

  function render() {
    const query = search.value.trim();
    const due = arrivalDue();
    const found = state.people.filter((p) => matches(p, query) && !(due && state.absentOnly && state.inside.has(p.id)));
    const here = room().id;
    showAbsent();
    people.replaceChildren(...found.slice(0, SHOWN).map((p) => {
      const where = state.inside.get(p.id);
      const status = where === here ? "inside_here" : where ? "inside_other" : due ? "absent" : "waiting";
      const button = where === here
        ? el("button", { type: "button", class: "check-out", onclick: () => checkOut(p) }, t("check_out"))
        : el("button", { type: "button", class: "good check-in", disabled: Boolean(where), onclick: () => checkIn(p) }, t("check_in"));
      return el("li", { dataset: { attendee: p.id, status } },
        el("div", { class: "who" }, el("b", {}, p.name), el("small", {}, [p.delegation, p.organization, p.title, p.phone].filter(Boolean).join(" · "))),
        el("span", { class: `chip ${status === "inside_here" ? "good" : status === "inside_other" ? "info" : status === "absent" ? "warn" : "muted"}` }, t(status)),
        button);
    }));
    if (found.length === 0) people.replaceChildren(el("li", { class: "hint" }, t("nobody")));
    if (found.length > SHOWN) people.append(el("li", { class: "hint" }, t("more", { n: found.length - SHOWN })));
  }

  async function checkIn(person) {
    const r = room();
    const reply = await api("POST", `/api/v1/rooms/${r.id}/checkins`, { attendee_id: person.id });
    await refresh();
    if (reply.ok) {
      banner(message, "good", t("checked_in_ok", { name: person.name }));
    } else {
      const fresh = room();
      banner(message, "bad", `${person.name}：${HC.problemText(reply.problem, { occupancy: fresh.occupancy, capacity: fresh.capacity })}`);
    }
  }

  async function checkOut(person) {
    const reply = await api("DELETE", `/api/v1/rooms/${room().id}/checkins/${person.id}`);
    await refresh();
    banner(message, reply.ok ? "good" : "bad", reply.ok ? t("checked_out_ok", { name: person.name }) : HC.problemText(reply.problem));
  }

  /** The rooms, who is inside each, and the list: all read again, so every door agrees. */
  async function refresh() {
    const [venue, hall] = await Promise.all([
      api("GET", `/api/v1/venues/${venueId}`),
      api("GET", `/api/v1/venues/${venueId}/people`),
    ]);
    if (!venue.ok || !hall.ok) {
      banner(message, "bad", HC.problemText((venue.ok ? hall : venue).problem));
      return;
    }
    state.venue = venue.data;
    if (state.arriveBy === null) {
      const event = await api("GET", `/api/v1/events/${state.venue.event_id}`);
      if (event.ok) {
        HC.contacts(contacts, event.data);
        state.arriveBy = HC.arriveBy(event.data);
        const offset = /([+-])(\d\d):(\d\d)$/.exec(event.data.starts_at);
        state.offsetMinutes = offset ? (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
      }
    }
    const lists = await Promise.all(state.venue.rooms.map((r) => api("GET", `/api/v1/rooms/${r.id}/checkins`)));
    state.inside = new Map();
    state.venue.rooms.forEach((r, i) => (lists[i].ok ? lists[i].data : []).forEach((c) => state.inside.set(c.attendee_id, r.id)));
    // Everybody of the hall: the venue's own list and its delegations'.
    state.people = hall.data.attendees.filter((a) => a.status === "registered" && a.participation === "onsite");
    if (!state.venue.rooms.some((r) => r.id === state.roomId)) {
      const remembered = localStorage.getItem(`huichang-room-${venueId}`);
      state.roomId = state.venue.rooms.some((r) => r.id === remembered) ? remembered : state.venue.rooms[0].id;
    }
    if (roomSelect.options.length !== state.venue.rooms.length) {
      roomSelect.replaceChildren(...state.venue.rooms.map((r) => el("option", { value: r.id }, r.name)));
    }
    roomSelect.value = state.roomId;
    const closed = state.venue.kind === "branch" && state.venue.approval !== "approved";
    banner(notice, closed ? "warn" : "", closed ? t("not_approved") : "");
    sheetLink.href = `${HC.base}/rooms/${state.roomId}/sign-in-sheet`;
    showOccupancy();
    render();
  }

  refresh();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, 5000);
})();
