"use strict";
// The technician page: the video test (each item, pass or fail with a note) and the "link live"
// switch, which keeps posting heartbeats while this page stays open. When the page closes the
// heartbeats stop and the dashboard shows the link lost: that is what the organisers need to see.
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    window: ["视频调试时间：{from} 至 {to}", "Video test window: {from} to {to}"],
    test: ["视频调试", "Video test"],
    picture: ["画面清晰", "Picture clear"],
    sound: ["声音清晰", "Sound clear"],
    mbps: ["网络带宽（Mbps）", "Bandwidth (Mbps)"],
    note: ["备注", "Note"],
    pass: ["调试通过", "Test passed"],
    fail: ["调试未通过", "Test failed"],
    recorded: ["已记录：{result}{window}", "Recorded: {result}{window}"],
    outside: ["（不在调试时间内）", " (outside the test window)"],
    history: ["调试记录", "Test history"],
    link: ["视频链路", "Video link"],
    link_switch: ["链路已连通", "Link live"],
    link_help: ["会议当天连通视频后打开此开关，并保持本页面打开：页面会持续报告链路状态。", "Switch on once the video is connected on the day and keep this page open: it keeps reporting the link."],
    beat: ["最近一次报告：{time}", "Last report: {time}"],
    beat_failed: ["报告失败，正在重试：{why}", "Report failed, retrying: {why}"],
  });

  const venueId = HC.data.venue;
  const eventId = HC.data.event;
  const every = Math.max(1, Number(HC.data.heartbeat) || 20) * 1000;
  const state = { timer: null };

  const header = el("section", { class: "card", id: "venue" }, t("loading"));
  const picture = el("input", { type: "checkbox", name: "picture", checked: true });
  const sound = el("input", { type: "checkbox", name: "sound", checked: true });
  const mbps = el("input", { type: "number", name: "network_mbps", min: "0", step: "1", inputmode: "numeric" });
  const note = el("input", { name: "note" });
  const checkBanner = el("div", { id: "check-banner", "aria-live": "polite" });
  const history = el("ol", { id: "history" });
  const linkSwitch = el("input", { type: "checkbox", id: "link-switch", role: "switch", onchange: toggle });
  const linkState = el("p", { class: "big-state", id: "link-state" });
  const linkBanner = el("div", { "aria-live": "polite" });

  const contacts = el("section", { class: "card", id: "contacts", hidden: true });
  const onAirBox = el("section", { class: "on-air-box", id: "on-air", hidden: true });
  HC.onAir(onAirBox, { eventId: HC.data.event, venueId, cue: true });
  HC.app.replaceChildren(
    onAirBox,
    header,
    contacts,
    el("section", { class: "card" },
      el("h2", {}, t("link")),
      el("label", { class: "switch" }, linkSwitch, t("link_switch")),
      linkState, linkBanner,
      el("p", { class: "hint" }, t("link_help"))),
    el("section", { class: "card" },
      el("h2", {}, t("test")),
      el("div", { class: "stack" },
        el("label", { class: "inline" }, picture, t("picture")),
        el("label", { class: "inline" }, sound, t("sound")),
        el("label", {}, t("mbps"), mbps),
        el("label", {}, t("note"), note),
        el("div", { class: "row" },
          el("button", { type: "button", class: "good", id: "pass", onclick: () => record("passed") }, t("pass")),
          el("button", { type: "button", class: "bad", id: "fail", onclick: () => record("failed") }, t("fail")))),
      checkBanner),
    el("section", { class: "card" }, el("h2", {}, t("history")), history),
  );

  function showLink(status) {
    linkState.replaceChildren(el("span", {
      class: `chip ${{ connected: "good", lost: "bad", disconnected: "warn" }[status] || "muted"}`,
      dataset: { status },
    }, t(`video_link_${status}`)));
  }

  async function beat() {
    const reply = await api("POST", `/api/v1/venues/${venueId}/video-link`, { status: "connected" });
    if (reply.ok) {
      showLink(reply.data.video_link);
      banner(linkBanner, "good", t("beat", { time: new Date().toTimeString().slice(0, 8) }));
    } else {
      banner(linkBanner, "bad", t("beat_failed", { why: HC.problemText(reply.problem) }));
    }
  }

  async function toggle() {
    clearInterval(state.timer);
    state.timer = null;
    if (linkSwitch.checked) {
      await beat();
      state.timer = setInterval(beat, every);
    } else {
      const reply = await api("POST", `/api/v1/venues/${venueId}/video-link`, { status: "disconnected" });
      if (reply.ok) showLink(reply.data.video_link);
      banner(linkBanner, reply.ok ? "" : "bad", reply.ok ? "" : HC.problemText(reply.problem));
    }
  }

  async function record(result) {
    const items = { picture: picture.checked, sound: sound.checked };
    if (mbps.value !== "") items.network_mbps = Number(mbps.value);
    const reply = await api("POST", `/api/v1/venues/${venueId}/video-checks`, { result, items, note: note.value });
    if (reply.ok) {
      banner(checkBanner, result === "passed" ? "good" : "warn",
        t("recorded", { result: t(`video_check_${result}`), window: reply.data.in_window ? "" : t("outside") }));
      loadHistory();
      loadVenue();
    } else {
      banner(checkBanner, "bad", HC.problemText(reply.problem));
    }
  }

  async function loadHistory() {
    const reply = await api("GET", `/api/v1/venues/${venueId}/video-checks`);
    if (!reply.ok) return;
    history.replaceChildren(...reply.data.map((c) => el("li", {},
      el("span", { class: `chip ${c.result === "passed" ? "good" : "bad"}` }, t(`video_check_${c.result}`)), " ",
      when(c.at), c.in_window ? "" : t("outside"), c.note ? ` · ${c.note}` : "")));
  }

  /** The venue's name, test window and latest result; the link state only on first load. */
  async function loadVenue(first) {
    const [venue, event] = await Promise.all([api("GET", `/api/v1/venues/${venueId}`), api("GET", `/api/v1/events/${eventId}`)]);
    if (!venue.ok) {
      banner(header, "bad", HC.problemText(venue.problem));
      return;
    }
    const v = venue.data;
    if (event.ok) HC.contacts(contacts, event.data);
    header.replaceChildren(el("h2", {}, v.name),
      event.ok ? el("p", {}, t("window", { from: when(event.data.video_check.starts_at), to: when(event.data.video_check.ends_at) })) : "",
      el("span", { class: `chip ${v.video_check === "passed" ? "good" : v.video_check === "failed" ? "bad" : "warn"}`, id: "check-state" }, t(`video_check_${v.video_check}`)));
    if (!first) return;
    showLink(v.video_link);
    // A reload while the link is live carries on reporting it.
    if (v.video_link === "connected") {
      linkSwitch.checked = true;
      toggle();
    }
  }

  async function load() {
    await loadVenue(true);
    loadHistory();
  }
  load();
})();
