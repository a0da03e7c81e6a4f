"use strict";
// A unit's deadlines: those it set for the units right below, as a table of units by deadline
// saying who has met each (and who is late), and those the unit above set for it, each with its
// submission and the form that meets it.
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    set_title: ["本单位布置的报送任务", "Deadlines this unit set for the units below"],
    set_none: ["尚未布置报送任务。", "No deadline set yet."],
    owed_title: ["上级布置的报送任务", "Deadlines the unit above set for this unit"],
    owed_none: ["上级尚未布置报送任务。", "The unit above has set no deadline."],
    unit_col: ["下级单位", "Unit below"],
    due: ["截止 {at}", "due {at}"],
    met_n: ["已报 {n}/{of}", "{n}/{of} sent"],
    missing_n: ["未报 {n}", "{n} missing"],
    cell_met: ["✓ {at}", "✓ {at}"],
    cell_late: ["迟报 {at}", "late {at}"],
    cell_overdue: ["逾期未报", "overdue"],
    cell_open: ["未报", "not yet"],
    requires_text: ["文字不少于 {n} 字", "text of at least {n} characters"],
    requires_photos: ["照片不少于 {n} 张", "at least {n} photos"],
    requires_caption: ["每张照片配文（文件名）不超过 {n} 字", "captions (file names) of at most {n} characters"],
    requires_none: ["无特别要求", "nothing in particular"],
    new_title: ["布置新任务", "Set a new deadline"],
    f_title: ["任务名称", "Title"],
    f_due: ["截止时间（北京时间）", "Due (Beijing time)"],
    f_remind: ["提前提醒（如 72h, 24h）", "Remind before (e.g. 72h, 24h)"],
    f_text_min: ["文字最少字数", "Fewest characters of text"],
    f_photos_min: ["照片最少张数", "Fewest photos"],
    f_caption_max: ["配文最多字数", "Longest caption"],
    create: ["布置任务", "Set the deadline"],
    created: ["已布置“{title}”，下级单位将按时收到提醒。", "\"{title}\" is set; the units below will be reminded."],
    submitted_at: ["已于 {at} 报送", "sent {at}"],
    submitted_late: ["已于 {at} 报送（迟报）", "sent {at}, late"],
    not_submitted: ["尚未报送", "not sent yet"],
    overdue: ["已逾期，请尽快补报", "overdue: send it now"],
    f_text: ["文字材料", "Text"],
    f_files: ["照片和附件（图片、PDF、Office 文档、mp4 视频）", "Photos and files (images, PDF, office documents, mp4)"],
    send: ["报送", "Send"],
    send_again: ["重新报送（替换上次）", "Send again (replaces the last)"],
    sent: ["已报送：文字 {chars} 字，文件 {files} 个。", "Sent: {chars} characters of text, {files} files."],
    chars: ["{n} 字", "{n} characters"],
    photo: ["照片", "Photo"],
    cell_returned: ["已退回", "returned"],
    zip: ["下载全部材料（zip）", "Download everything (zip)"],
    open_hint: ["点击已报送的格子查看材料并审核。", "Click a sent cell to open what was sent and review it."],
    returned_banner: ["此项已被退回（{at}）：{comment}。请按意见修改后重新报送。", "Returned ({at}): {comment}. Please change it as asked and send it again."],
    accepted_chip: ["已通过审核", "accepted"],
    err_invalid_submission: ["报送材料不符合要求：", "The submission breaks the deadline's rules:"],
    err_invalid_deadline: ["任务有误，请修改：", "The deadline has mistakes:"],
    err_unsupported_media_type: ["有文件不是图片、PDF、Office 文档或 mp4 视频。", "A file is not an image, a PDF, an office document or an mp4."],
    field_text: ["文字", "Text"],
    field_files: ["照片", "Photos"],
    field_title: ["任务名称", "Title"],
    field_due_at: ["截止时间", "Due"],
    field_remind_before: ["提前提醒", "Remind before"],
  });
  const d = HC.data;
  const organise = d.organise === "true";
  const sentNotes = new Map();

  const setBody = el("div", { id: "set-deadlines" });
  const setBanner = el("div", { id: "set-banner", "aria-live": "polite" });
  const owedBody = el("div", { id: "owed-deadlines" });
  const viewer = el("section", { class: "card", id: "submission", hidden: true });
  // What the unit owes comes first: a city reads its own tasks before the ones it sets.
  HC.app.append(
    d.parent ? el("section", { class: "card" }, el("h2", {}, t("owed_title")), owedBody) : "",
    el("section", { class: "card" }, el("h2", {}, t("set_title")), setBody, setBanner, organise ? newDeadlineForm() : null),
    viewer,
  );

  function requirements(r) {
    const parts = [];
    if (r.text_min_chars) parts.push(t("requires_text", { n: r.text_min_chars }));
    if (r.photos_min) parts.push(t("requires_photos", { n: r.photos_min }));
    if (r.caption_max_chars) parts.push(t("requires_caption", { n: r.caption_max_chars }));
    return parts.length ? parts.join(HC.lang === "en" ? "; " : "；") : t("requires_none");
  }

  const size = HC.size;
  const passed = (iso) => new Date(iso).getTime() <= Date.now();

  // One cell of the table: met (on time or late), overdue, or not yet due.
  function cell(deadline, standing) {
    if (!standing) return el("td", { class: "muted" }, "—");
    const at = standing.submitted_at ? when(standing.submitted_at).replace(/^\d{4}年/, "") : "";
    const [kind, text] = standing.returned ? ["bad", t("cell_returned")]
      : standing.met
        ? standing.late ? ["warn", t("cell_late", { at })] : ["good", t("cell_met", { at })]
        : passed(deadline.due_at) ? ["bad", t("cell_overdue")] : ["muted", t("cell_open")];
    const sent = Boolean(standing.submitted_at);
    const chip = sent
      ? el("button", { type: "button", class: `chip ${kind} open`, onclick: () => openSubmission(deadline, standing) }, text)
      : el("span", { class: `chip ${kind}` }, text);
    return el("td", { class: `standing ${kind}`, dataset: { unit: standing.unit_id, deadline: deadline.id, met: String(standing.met) } }, chip);
  }

  function renderSet(deadlines) {
    if (!deadlines.length) {
      setBody.replaceChildren(el("p", { class: "hint" }, t("set_none")));
      return;
    }
    const units = new Map();
    for (const deadline of deadlines) for (const u of deadline.units) units.set(u.unit_id, u.name);
    const standing = (deadline, unit) => deadline.units.find((u) => u.unit_id === unit);
    const head = el("tr", {}, el("th", {}, t("unit_col")), deadlines.map((deadline) => {
      const met = deadline.units.filter((u) => u.met).length;
      return el("th", { dataset: { deadline: deadline.id } },
        el("div", {}, deadline.title),
        el("div", { class: "hint" }, t("due", { at: when(deadline.due_at) })),
        el("div", { class: "hint" }, requirements(deadline.requires)),
        el("span", { class: `chip ${met === deadline.units.length ? "good" : passed(deadline.due_at) ? "bad" : "info"}`, dataset: { summary: deadline.id } },
          t("met_n", { n: met, of: deadline.units.length })),
        deadline.units.some((u) => u.submitted_at)
          ? el("div", {}, el("a", { class: "zip", href: `${HC.base}/api/v1/units/${d.unit}/deadlines/${deadline.id}/files.zip` }, t("zip")))
          : null);
    }));
    const rows = [...units].map(([id, name]) => el("tr", { dataset: { unit: id } },
      el("th", { scope: "row" }, el("a", { href: `${HC.base}/units/${id}/deadlines` }, name)),
      deadlines.map((deadline) => cell(deadline, standing(deadline, id)))));
    setBody.replaceChildren(el("div", { class: "scroll" }, el("table", { id: "standings" }, el("thead", {}, head), el("tbody", {}, rows))),
      el("p", { class: "hint" }, t("open_hint")));
  }

  // One unit's submission for one deadline, with the review for the organisers.
  async function openSubmission(deadline, standing) {
    const reply = await api("GET", `/api/v1/units/${standing.unit_id}/submissions`);
    if (!reply.ok) return banner(setBanner, "bad", HC.problemText(reply.problem));
    const item = reply.data.find((o) => o.deadline.id === deadline.id);
    if (!item || !item.submission) return;
    HC.submissionViewer(viewer, {
      who: standing.name,
      title: deadline.title,
      submission: item.submission,
      reviews: organise,
      done(review) {
        load();
        banner(setBanner, review.status === "returned" ? "bad" : "good",
          `${standing.name} · ${deadline.title}：${review.status === "returned" ? t("reviewed_returned", { comment: review.comment }) : t("reviewed_accepted")}`);
      },
      failed(problem) {
        setBanner.replaceChildren(problemLines(problem, []));
      },
    });
  }

  function problemLines(problem, names) {
    const lines = (problem.errors || []).map((e) => {
      const file = /^files\[(\d+)\]$/.exec(e.field);
      const label = file ? names[Number(file[1])] || e.field : t(`field_${e.field}`).replace(/^field_/, "");
      return el("li", { dataset: { field: e.field } }, `${label}：${HC.message(e.message)}`);
    });
    return el("div", { class: "banner bad", role: "alert" }, HC.problemText(problem), lines.length ? el("ul", {}, lines) : null);
  }

  function newDeadlineForm() {
    const input = (id, attrs) => el("input", Object.assign({ id }, attrs || {}));
    const title = input("new-title");
    const due = input("new-due", { type: "datetime-local" });
    const remind = input("new-remind", { value: "72h, 24h" });
    const textMin = input("new-text-min", { type: "number", min: "0", inputmode: "numeric" });
    const photosMin = input("new-photos-min", { type: "number", min: "0", inputmode: "numeric" });
    const captionMax = input("new-caption-max", { type: "number", min: "1", inputmode: "numeric" });
    const number = (field) => (field.value.trim() ? Number(field.value) : null);
    async function create() {
      const requires = { text_min_chars: number(textMin), photos_min: number(photosMin), caption_max_chars: number(captionMax) };
      const body = {
        title: title.value.trim(),
        due_at: due.value ? `${due.value.length === 16 ? `${due.value}:00` : due.value}+08:00` : "",
        remind_before: remind.value.split(/[,，\s]+/).filter(Boolean),
        requires,
      };
      const reply = await api("POST", `/api/v1/units/${d.unit}/deadlines`, body);
      if (reply.ok) {
        banner(setBanner, "good", t("created", { title: reply.data.title }));
        title.value = "";
        load();
      } else {
        setBanner.replaceChildren(problemLines(reply.problem, []));
      }
    }
    return el("details", { id: "new-deadline" }, el("summary", {}, t("new_title")),
      el("div", { class: "row" },
        el("label", {}, t("f_title"), title), el("label", {}, t("f_due"), due), el("label", {}, t("f_remind"), remind)),
      el("div", { class: "row" },
        el("label", {}, t("f_text_min"), textMin), el("label", {}, t("f_photos_min"), photosMin), el("label", {}, t("f_caption_max"), captionMax)),
      el("button", { type: "button", class: "primary", id: "create-deadline", onclick: create }, t("create")));
  }

  function owedCard(item) {
    const deadline = item.deadline;
    const submission = item.submission;
    const standing = deadline.units[0];
    const review = submission && submission.review;
    const state = submission
      ? el("span", { class: `chip ${standing && standing.late ? "warn" : "good"}` },
        t(standing && standing.late ? "submitted_late" : "submitted_at", { at: when(submission.submitted_at) }))
      : el("span", { class: `chip ${passed(deadline.due_at) ? "bad" : "info"}` }, t(passed(deadline.due_at) ? "overdue" : "not_submitted"));
    const reviewed = review && (review.status === "returned"
      ? el("p", { class: "banner bad returned", role: "alert" }, t("returned_banner", { at: when(review.at), comment: review.comment }))
      : el("span", { class: "chip good" }, t("accepted_chip")));
    const shown = submission ? el("div", { class: "submission" },
      submission.text ? el("p", { class: "excerpt" }, submission.text.length > 200 ? `${submission.text.slice(0, 200)}…` : submission.text) : null,
      submission.text ? el("p", { class: "hint" }, t("chars", { n: [...submission.text.replace(/\s/g, "")].length })) : null,
      el("ul", { class: "files" }, submission.files.map((f) => el("li", {}, f.caption ? `${t("photo")}：${f.name}` : f.name, el("span", { class: "hint" }, ` ${size(f.size)}`))))) : null;
    const result = el("div", { class: "result", "aria-live": "polite" });
    if (sentNotes.has(deadline.id)) banner(result, "good", sentNotes.get(deadline.id));
    let form = null;
    if (organise) {
      const text = el("textarea", { rows: "6", class: "text", placeholder: t("f_text") });
      if (submission) text.value = submission.text;
      const files = el("input", { type: "file", multiple: true, class: "files-input" });
      const counter = el("span", { class: "hint" });
      const count = () => { counter.textContent = t("chars", { n: [...text.value.replace(/\s/g, "")].length }); };
      text.addEventListener("input", count);
      count();
      async function send() {
        const body = new FormData();
        body.append("text", text.value);
        const names = [...files.files].map((f) => f.name.replace(/\.[^.]*$/, ""));
        for (const f of files.files) body.append("file", f, f.name);
        const reply = await api("POST", `/api/v1/units/${d.unit}/submissions/${deadline.id}`, body);
        if (reply.ok) {
          // The cards are drawn again with the submission; the word that it was taken stays on its card.
          sentNotes.set(deadline.id, t("sent", { chars: [...reply.data.text.replace(/\s/g, "")].length, files: reply.data.files.length }));
          load();
        } else {
          result.replaceChildren(problemLines(reply.problem, names));
        }
      }
      form = el("div", { class: "send" },
        el("label", {}, t("f_text"), text), counter,
        el("label", {}, t("f_files"), files),
        el("button", { type: "button", class: "primary send-button", onclick: send }, t(submission ? "send_again" : "send")));
    }
    return el("article", { class: "owed", dataset: { deadline: deadline.id } },
      el("h3", {}, deadline.title),
      el("p", {}, t("due", { at: when(deadline.due_at) }), " · ", requirements(deadline.requires)),
      state, reviewed, shown, form, result);
  }

  function renderOwed(items) {
    owedBody.replaceChildren(...(items.length ? items.map(owedCard) : [el("p", { class: "hint" }, t("owed_none"))]));
  }

  async function load() {
    const set = await api("GET", `/api/v1/units/${d.unit}/deadlines`);
    if (set.ok) renderSet(set.data);
    else banner(setBanner, "bad", HC.problemText(set.problem));
    if (d.parent) {
      const owed = await api("GET", `/api/v1/units/${d.unit}/submissions`);
      if (owed.ok) renderOwed(owed.data);
    }
  }

  load();
  // Who has met what changes as the units below send: the table is read again every half minute.
  setInterval(async () => {
    const set = await api("GET", `/api/v1/units/${d.unit}/deadlines`);
    if (set.ok) renderSet(set.data);
  }, 30000);
})();
