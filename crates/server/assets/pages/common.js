"use strict";
// Shared by every page: the language, calls to the JSON API, and small DOM helpers.
// Every string from the server is put into the page as text, never as HTML.
const HC = (() => {
  const root = document.documentElement;
  const base = root.dataset.base || "";
  const lang = root.lang === "en" ? "en" : "zh";

  // Each entry: [中文, English]. `{name}` is filled in by t().
  const TEXT = {
    loading: ["正在加载…", "Loading…"],
    network: ["无法连接服务器，请检查网络。", "The server cannot be reached; check the network."],
    saved: ["已保存", "Saved"],
    save: ["保存", "Save"],
    cancel: ["取消", "Cancel"],
    none: ["无", "none"],
    error: ["出错了", "Something went wrong"],
    rows_bad: ["{n} 行有误，请按提示修改后重新提交。", "{n} rows need fixing; correct them and submit again."],
    // Problem codes the API answers with.
    err_invalid_registration: ["名单有误，请按每行提示修改。", "The list has mistakes; see the note on each row."],
    err_over_capacity: ["现场参会人数超过会场容量。", "More people on site than the venue holds."],
    err_deadline_passed: ["报名已截止，请联系会务组。", "Registration has closed; contact the organisers."],
    err_room_full: ["会场已满（{occupancy}/{capacity}），不能再签到。", "The room is full ({occupancy}/{capacity}); nobody else can check in."],
    err_already_checked_in: ["此人已签到。", "This person is already checked in."],
    err_venue_not_approved: ["会场尚未获得批准，不能签到入场。", "The venue is not approved yet; nobody may be admitted."],
    err_not_registered_here: ["此人不在本会场的现场名单上。", "This person is not on this venue's on-site list."],
    err_requirement_not_met: ["未满足入场要求：{missing}", "Admission requirement not met: {missing}"],
    err_not_checked_in: ["此人不在此会场内。", "This person is not inside this room."],
    err_forbidden: ["您的令牌不能进行此操作。", "Your token may not do this."],
    err_too_many_attempts: ["尝试次数过多，请稍后再试。", "Too many attempts; try again shortly."],
    req_health_code: ["健康码", "health code"],
    req_test_within_48h: ["48小时内核酸检测", "test within 48 hours"],
    // States shown on several pages.
    approval_pending: ["待批准", "approval pending"],
    approval_approved: ["已批准", "approved"],
    approval_rejected: ["未批准", "rejected"],
    video_check_none: ["未调试", "not tested"],
    video_check_passed: ["调试通过", "test passed"],
    video_check_failed: ["调试未通过", "test failed"],
    video_link_unknown: ["链路未知", "link unknown"],
    video_link_connected: ["链路在线", "link live"],
    video_link_disconnected: ["链路断开", "link off"],
    video_link_lost: ["链路丢失", "link lost"],
    kind_main: ["主会场", "main venue"],
    contacts: ["联系方式", "Whom to call"],
    stream: ["直播地址", "Live stream"],
    kind_branch: ["分会场", "branch venue"],
    deadline_registration: ["报名截止", "registration"],
    deadline_video_check: ["视频调试", "video check"],
    deadline_deliverable: ["材料报送", "deliverable"],
    days: ["{d}天 ", "{d}d "],
    due_in: ["还有 {time}", "in {time}"],
    overdue_by: ["已超过 {time}", "overdue by {time}"],
    // An attendee list as the coordinator and delegation pages edit it.
    col_name: ["姓名", "Name"],
    col_organization: ["单位", "Organisation"],
    col_title: ["职务", "Title"],
    col_phone: ["手机", "Phone"],
    col_email: ["邮箱", "Email"],
    col_participation: ["参会方式", "Attends"],
    col_category: ["类别", "Category"],
    category_leader: ["领导", "Leader"],
    category_guest: ["嘉宾", "Guest"],
    category_speaker: ["发言代表", "Speaker"],
    category_awardee: ["受表彰代表", "Awardee"],
    category_staff: ["工作人员", "Staff"],
    category_press: ["媒体记者", "Press"],
    category_delegate: ["参会代表", "Delegate"],
    category_public: ["群众", "Public"],
    col_problems: ["问题", "Problems"],
    onsite: ["现场", "on site"],
    online_part: ["线上", "online"],
    add_row: ["添加一行", "Add a row"],
    remove: ["删除", "Remove"],
    submit_list: ["提交名单", "Submit the list"],
    submitted: ["名单已提交：{n} 人（第 {r} 版）。", "List submitted: {n} people (revision {r})."],
    // The totals of the dashboard and of a unit's overview.
    total_venues: ["会场", "venues"],
    total_approved: ["已批准", "approved"],
    total_registered: ["已报名", "registered"],
    total_capacity: ["容量", "capacity"],
    total_checked_in: ["已签到", "checked in"],
    total_video_passed: ["调试通过", "video tests passed"],
    total_video_live: ["链路在线", "links live"],
    // The state of a live feed.
    connecting: ["正在连接…", "Connecting…"],
    live: ["实时更新中", "Live"],
    reconnecting: ["连接中断，{s} 秒后重连…", "Disconnected; reconnecting in {s} s…"],
    updated: ["更新于 {time}", "updated {time}"],
  };

  function t(key, vars) {
    const pair = TEXT[key];
    let text = pair ? pair[lang === "en" ? 1 : 0] : key;
    for (const [name, value] of Object.entries(vars || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }

  /** Adds a page's own texts. */
  function texts(more) {
    Object.assign(TEXT, more);
  }

  /** An element with attributes, listeners (`onclick`) and children (strings become text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "value" || key === "checked") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    // Children may come nested, as lists of lists from `map`: every level is flattened, so that
    // none is turned into a comma-joined string.
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Calls the API with the session cookie: `{ok, status, data}` or `{ok: false, status, problem}`. */
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { "X-Requested-With": "huichang" } };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(base + path, init);
    } catch (_) {
      return { ok: false, status: 0, problem: { code: "network", detail: t("network") } };
    }
    if (response.status === 401) {
      location.href = `${base}/?next=${encodeURIComponent(location.pathname)}`;
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (response.ok) return { ok: true, status: response.status, data };
    return { ok: false, status: response.status, problem: data || { detail: response.statusText } };
  }

  /** A problem as a person should read it. */
  function problemText(problem, vars) {
    if (!problem) return t("error");
    const key = `err_${problem.code}`;
    if (problem.code && TEXT[key]) {
      const missing = (problem.missing || []).map((k) => (TEXT[`req_${k}`] ? t(`req_${k}`) : k)).join(lang === "en" ? ", " : "、");
      return t(key, Object.assign({ missing }, vars || {}));
    }
    if (problem.code === "network") return t("network");
    return problem.detail || problem.title || t("error");
  }

  // The API's validation messages are in English; a Chinese page shows the common ones in Chinese.
  const MESSAGES_ZH = [
    [/^must not be empty$/, () => "不能为空"],
    [/^is required$/, () => "必填"],
    [/^a phone number is required$/, () => "请填写电话"],
    [/^must be at most (\d+) characters, got (\d+)$/, (m) => `最多 ${m[1]} 个字，现为 ${m[2]} 个`],
    [/^'(.*)' is not a valid email address$/, (m) => `“${m[1]}”不是有效的邮箱地址`],
    [/^'(.*)' is neither a mainland mobile/, (m) => `“${m[1]}”既不是 11 位手机号，也不是带区号的固定电话（如 010-66096253）`],
    [/^'(.*)' contains '(.*)', which is not part of a phone number$/, (m) => `“${m[1]}”含有“${m[2]}”，不是电话号码`],
    [/^the same name and phone as row (\d+)$/, (m) => `与第 ${Number(m[1]) + 1} 行的姓名和手机相同`],
    [/^the same name and organisation as row (\d+), and no phone tells them apart$/, (m) => `与第 ${Number(m[1]) + 1} 行的姓名和单位相同，且没有手机可以区分`],
    [/^is required: the name and mobile/, () => "必填：本会场视频调试技术人员的姓名和手机"],
    [/^must be at least (\d+) characters \(spaces not counted\); it has (\d+)$/, (m) => `至少 ${m[1]} 字（不计空格），现为 ${m[2]} 字`],
    [/^must hold at least (\d+) photos .*; it holds (\d+)$/, (m) => `至少 ${m[1]} 张照片（JPEG、PNG、GIF、WebP 或 HEIC），现有 ${m[2]} 张`],
    [/^the caption '(.*)' \(the file's name\) is (\d+) characters; at most (\d+)$/, (m) => `配文“${m[1]}”（即文件名）共 ${m[2]} 字，最多 ${m[3]} 字`],
  ];

  /** A field error's message in the page's language, where a translation is known. */
  function message(text) {
    if (lang === "en" || !text) return text;
    for (const [pattern, zh] of MESSAGES_ZH) {
      const m = pattern.exec(text);
      if (m) return zh(m);
    }
    return text;
  }

  /** `2021-11-20T16:00:00+08:00` as the event's wall clock: `11月20日 16:00` or `20 Nov 16:00`. */
  function when(iso) {
    if (!iso) return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
    if (!m) return iso;
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    return lang === "en"
      ? `${Number(m[3])} ${months[Number(m[2]) - 1]} ${m[1]} ${m[4]}:${m[5]}`
      : `${m[1]}年${Number(m[2])}月${Number(m[3])}日 ${m[4]}:${m[5]}`;
  }

  /** A duration in milliseconds as `2天 03:04:05`. */
  function span(ms) {
    const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
    const d = Math.floor(total / 86400);
    const pad = (n) => String(n).padStart(2, "0");
    const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
    return (d > 0 ? t("days", { d }) : "") + clock;
  }

  /** Time left until `iso`, or how long ago it passed. */
  function countdown(iso, now) {
    const left = Date.parse(iso) - (now || Date.now());
    return left >= 0 ? t("due_in", { time: span(left) }) : t("overdue_by", { time: span(left) });
  }

  const CATEGORIES = ["leader", "guest", "speaker", "awardee", "staff", "press", "delegate", "public"];

  /** The cells of one person in an editable list: an input per field (those in `bad` marked),
   *  then how they attend and their category, each change written back to `row`. */
  function personCells(row, fields, bad) {
    const cells = fields.map((field) => el("td", {}, el("input", {
      name: field,
      value: row[field] || "",
      class: bad.has(field) ? "invalid" : null,
      "aria-invalid": bad.has(field) ? "true" : null,
      inputmode: field === "phone" ? "tel" : null,
      oninput: (event) => { row[field] = event.target.value; },
    })));
    const participation = el("select", { name: "participation", onchange: (event) => { row.participation = event.target.value; } },
      el("option", { value: "onsite" }, t("onsite")), el("option", { value: "online" }, t("online_part")));
    participation.value = row.participation || "onsite";
    const category = el("select", { name: "category", onchange: (event) => { row.category = event.target.value; } },
      CATEGORIES.map((c) => el("option", { value: c }, t(`category_${c}`))));
    category.value = row.category || "delegate";
    return [...cells, el("td", {}, participation), el("td", {}, category)];
  }

  /** A refused list's errors by the row they name, and each one's text as the row's problem. */
  function errorsByRow(errors) {
    const byRow = new Map();
    for (const e of errors || []) {
      if (e.row === undefined || e.row === null) continue;
      if (!byRow.has(e.row)) byRow.set(e.row, []);
      byRow.get(e.row).push(e);
    }
    return byRow;
  }

  function rowProblem(e) {
    const label = t(`col_${e.field}`);
    return el("div", {}, `${label === `col_${e.field}` ? e.field : label}：${message(e.message)}`);
  }

  /** A short-lived message in the page's banner area. */
  function banner(target, kind, text) {
    target.replaceChildren(text ? el("p", { class: `banner ${kind}`, role: kind === "bad" ? "alert" : "status" }, text) : "");
  }

  /**
   * Follows a live feed: the WebSocket at `path()` (asked again at each connection, so that it
   * may say where to resume), each message parsed and given to `onmessage`, the connection's
   * state shown in `status`. A connection lost is opened again after 1, 2, 4… up to 10 s; a
   * token revoked (1008) signs out. `restart()` starts again from `path()` at once.
   */
  function follow(path, status, onmessage) {
    let current = null;
    let retry = 0;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}${base}${path()}`);
      current = socket;
      socket.onopen = () => {
        retry = 0;
        status.className = "connection live";
        status.textContent = t("live");
      };
      socket.onmessage = (event) => onmessage(JSON.parse(event.data));
      socket.onclose = (event) => {
        if (current !== socket) return;
        if (event.code === 1008) {
          location.href = `${base}/?next=${encodeURIComponent(location.pathname)}`;
          return;
        }
        current = null;
        const wait = Math.min(10, 2 ** retry);
        retry += 1;
        status.className = "connection down";
        status.textContent = t("reconnecting", { s: wait });
        setTimeout(connect, wait * 1000);
      };
    }
    connect();
    return {
      restart() {
        const old = current;
        current = null;
        if (old) old.close();
        connect();
      },
    };
  }

  /** When people are asked to be in (`arrive_minutes_before` the start), in ms since the epoch:
   *  from then on, whoever is not inside is 未到. */
  function arriveBy(event) {
    return Date.parse(event.starts_at) - event.arrive_minutes_before * 60000;
  }

  /** The event's contacts, each with a link that calls them, and its live stream; fills `box`
   *  (hidden when the event lists neither). */
  function contacts(box, event) {
    const people = (event && event.contacts) || [];
    const stream = event && event.stream;
    box.hidden = people.length === 0 && !stream;
    box.replaceChildren(
      el("h2", {}, t("contacts")),
      people.length ? el("ul", { class: "contacts" }, people.map((c) => el("li", {},
        el("span", { class: "muted" }, `${c.role}：`), el("b", {}, c.name), " ",
        el("a", { href: `tel:${c.phone}` }, c.phone)))) : "",
      stream ? el("p", {}, `${t("stream")}：`, el("a", { href: stream.url, rel: "noopener noreferrer", target: "_blank" }, stream.url),
        stream.note ? ` （${stream.note}）` : "") : "");
  }

  texts({
    viewing: ["{who} · {title}", "{who} · {title}"],
    sent_on: ["报送于 {at}", "sent {at}"],
    accept: ["通过", "Accept"],
    return_it: ["退回修改", "Return"],
    return_comment: ["退回意见（将发送给报送方）", "What to change (emailed to the sender)"],
    confirm_return: ["{who}将收到这条意见的邮件，“{title}”计为未报送，直到重新报送。再点一次“确认退回”。", "{who} is emailed the comment, and \"{title}\" counts as not sent until sent again. Press \"Confirm\" to return it."],
    confirm_button: ["确认退回", "Confirm"],
    reviewed_accepted: ["已通过", "accepted"],
    reviewed_returned: ["已退回：{comment}", "returned: {comment}"],
    close: ["关闭", "Close"],
  });

  texts({
    strip_now: ["正在进行：{title}", "On now: {title}"],
    strip_next: ["下一项：{title}", "Next: {title}"],
    strip_in: ["（{time} 后）", " (in {time})"],
    strip_none: ["议程尚未开始", "The show has not started"],
    cue_soon: ["{m} 分钟后本会场上屏", "This venue goes on air in {m} min"],
    cue_countdown: ["倒计时 {time}", "{time} to go"],
    cue_live: ["正在上屏", "This venue is on air"],
    cue_hint: ["请确认视频链路在线、画面和声音正常。", "Check that the link is live, with picture and sound."],
  });

  /** What is on now and next in the event, with a countdown, kept live from the agenda feed;
   *  with `cue`, the page of the venue that goes on air next turns to a full-width cue from five
   *  minutes before, and to "on air" while it is live. */
  function onAir(box, { eventId, venueId, cue }) {
    let agenda = null;
    const cueBox = el("div", { class: "cue", id: "cue", hidden: true });
    const line = el("p", { class: "strip", id: "on-now-strip" });
    box.replaceChildren(cueBox, line);
    const hhmm = (iso) => new Date(iso).toLocaleTimeString(lang === "en" ? "en-GB" : "zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
    function draw() {
      if (!agenda) return;
      const { now, next } = agenda;
      box.hidden = !now && !next;
      const left = next ? Date.parse(next.expected_start) - Date.now() : 0;
      line.replaceChildren(
        now ? el("span", { class: "now", dataset: { item: now.id } }, t("strip_now", { title: now.title })) : el("span", { class: "muted" }, t("strip_none")),
        next ? el("span", { class: "next", dataset: { item: next.id } }, t("strip_next", { title: next.title }),
          left > 0 ? t("strip_in", { time: span(left) }) : ` ${hhmm(next.expected_start)}`) : "");
      const live = cue && now && now.venue_id === venueId;
      const soon = cue && !live && next && next.venue_id === venueId && left <= 5 * 60000;
      cueBox.hidden = !live && !soon;
      cueBox.className = `cue ${live ? "live" : "soon"}`;
      if (live || soon) {
        cueBox.replaceChildren(el("b", {}, live ? t("cue_live") : t("cue_soon", { m: Math.max(1, Math.ceil(left / 60000)) })),
          el("span", {}, (live ? now : next).title),
          live ? "" : el("span", { class: "countdown" }, t("cue_countdown", { time: span(Math.max(0, left)) })),
          el("small", {}, t("cue_hint")));
      }
    }
    async function load() {
      const reply = await api("GET", `/api/v1/events/${eventId}/agenda`);
      if (reply.ok) {
        agenda = { now: reply.data.now, next: reply.data.next };
        draw();
      }
    }
    load();
    const status = el("span", { hidden: true });
    follow(() => `/api/v1/events/${eventId}/agenda/live`, status, (message) => {
      if (message.agenda) {
        agenda = message.agenda;
        draw();
      }
    });
    setInterval(draw, 1000);
  }

  /** A file's size as people read it. */
  function size(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
  }

  /** One submission (a unit's or a venue's) drawn into `box`: its text, its photos shown from the
   *  files themselves, every file to download, and for a reviewer the accept and return buttons
   *  (a return takes a second press, as it emails the sender). `done(review)` follows a review;
   *  `failed(problem)` a refused one. */
  function submissionViewer(box, { who, title, submission, reviews, done, failed }) {
    const fileUrl = (f) => `${base}/api/v1/files/${f.id}`;
    const photos = submission.files.filter((f) => f.content_type.startsWith("image/") && f.content_type !== "image/heic");
    const comment = el("textarea", { rows: "3", id: "review-comment", placeholder: t("return_comment") });
    const warning = el("p", { class: "hint", id: "return-warning", hidden: true });
    let returnButton = null;
    async function send(status) {
      if (status === "returned" && !returnButton.dataset.armed) {
        returnButton.dataset.armed = "1";
        returnButton.textContent = t("confirm_button");
        warning.textContent = t("confirm_return", { who, title });
        warning.hidden = false;
        return;
      }
      const answer = await api("POST", `/api/v1/submissions/${submission.id}/review`, { status, comment: comment.value });
      if (answer.ok) {
        box.hidden = true;
        done(answer.data.review);
      } else {
        failed(answer.problem);
      }
    }
    const review = submission.review;
    const state = review
      ? el("span", { class: `chip ${review.status === "returned" ? "bad" : "good"}` },
        review.status === "returned" ? t("reviewed_returned", { comment: review.comment }) : t("reviewed_accepted"))
      : null;
    box.replaceChildren(
      el("h2", {}, t("viewing", { who, title })),
      el("p", { class: "hint" }, t("sent_on", { at: when(submission.submitted_at) }), " ", state),
      submission.text ? el("p", { class: "excerpt", id: "submission-text" }, submission.text) : null,
      photos.length ? el("div", { class: "thumbs", id: "thumbs" }, photos.map((f) =>
        el("a", { href: fileUrl(f), target: "_blank", rel: "noopener" },
          el("figure", {}, el("img", { src: fileUrl(f), alt: f.caption || f.name, loading: "lazy" }), el("figcaption", {}, f.caption || f.name))))) : null,
      el("ul", { class: "files", id: "submission-files" }, submission.files.map((f) =>
        el("li", {}, el("a", { href: fileUrl(f), download: f.name }, f.name), el("span", { class: "hint" }, ` ${size(f.size)}`)))),
      el("div", { class: "review" },
        reviews ? el("label", {}, t("return_comment"), comment) : null,
        el("div", { class: "row" },
          reviews ? el("button", { type: "button", class: "good", id: "accept", onclick: () => send("accepted") }, t("accept")) : null,
          reviews ? returnButton = el("button", { type: "button", class: "bad", id: "return", onclick: () => send("returned") }, t("return_it")) : null,
          el("button", { type: "button", onclick: () => { box.hidden = true; } }, t("close"))),
        warning));
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
  }

  return {
    arriveBy,
    base,
    contacts,
    size,
    submissionViewer,
    onAir,
    follow,
    lang,
    t,
    texts,
    el,
    api,
    problemText,
    message,
    when,
    span,
    countdown,
    banner,
    personCells,
    errorsByRow,
    rowProblem,
    CATEGORIES,
    data: root.dataset,
    app: document.getElementById("app"),
  };
})();
