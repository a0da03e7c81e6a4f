"use strict";
// The coordinator page: the venue's attendee list edited as a table (every rejected row shows its
// reason beside it), the local approval, the deadlines and deliverables, and replacements.
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    venue: ["会场", "Venue"],
    capacity: ["容量 {n} 人", "capacity {n}"],
    rooms: ["会议室", "Rooms"],
    door_page: ["打开签到页", "Open the door page"],
    deadlines: ["截止事项", "Deadlines"],
    list_submitted: ["名单已于 {at} 提交（第 {r} 版）", "list submitted {at} (revision {r})"],
    list_returned: ["主办方已退回名单（{at}）：{comment}。请修改后重新提交；重新提交之前，回执计为未提交。", "The organiser returned the list ({at}): {comment}. Change it and send it again; until then it counts as not sent."],
    list_accepted: ["主办方已审核通过", "accepted by the organiser"],
    review_title: ["审核名单（主办方）：退回时请写明意见", "Review the list (organiser): say what to change when returning it"],
    review_comment: ["如：请补充技术人员手机号", "e.g. the technician's mobile is missing"],
    accept_list: ["通过", "Accept"],
    return_list: ["退回修改", "Return"],
    confirm_return: ["确认退回", "Confirm"],
    return_warning: ["会场联络人将收到这条意见的邮件，回执计为未提交，直到重新提交。再点一次“确认退回”。", "The venue's contact is emailed the comment, and the list counts as not sent until sent again. Press \"Confirm\" to return it."],
    list_missing: ["名单尚未提交", "list not submitted yet"],
    done_at: ["已于 {at} 报送", "delivered {at}"],
    not_done: ["尚未报送", "not delivered yet"],
    mark_done: ["报送", "Send"],
    send_again: ["重新报送（替换上次）", "Send again (replaces the last)"],
    note: ["文字材料或说明", "Text or a note"],
    file: ["照片和附件（图片、PDF、Office 文档、mp4 视频，可多选）", "Photos and files (images, PDF, office documents, mp4; several at once)"],
    files_sent: ["{n} 个文件", "{n} files"],
    deliverable_returned: ["主办方已退回（{at}）：{comment}。请修改后重新报送；重新报送之前，此项计为未报送。", "The organiser returned it ({at}): {comment}. Change it and send it again; until then it counts as not sent."],
    deliverable_accepted: ["已通过审核", "accepted"],
    returned_chip: ["已退回，待重新报送", "returned: send it again"],
    requires_text: ["文字不少于 {n} 字", "text of at least {n} characters"],
    requires_photos: ["照片不少于 {n} 张", "at least {n} photos"],
    requires_caption: ["每张照片配文（文件名）不超过 {n} 字", "captions (file names) of at most {n} characters"],
    err_invalid_submission: ["报送材料不符合要求：", "The submission breaks the deadline's rules:"],
    err_unsupported_media_type: ["有文件不是图片、PDF、Office 文档或 mp4 视频。", "A file is not an image, a PDF, an office document or an mp4."],
    approval: ["地方批准", "Local approval"],
    approval_status: ["结果", "Decision"],
    authority: ["批准单位", "Approving authority"],
    reference: ["文号", "Reference"],
    record: ["记录批准", "Record the decision"],
    list: ["参会名单", "Attendee list"],
    technician: ["视频调试技术人员", "Video technician"],
    replace: ["更换", "Replace"],
    replace_with: ["更换为：", "Replace with:"],
    replaced_ok: ["已更换为 {name}。", "Replaced by {name}."],
    replaced_people: ["已更换的人员", "Replaced"],
    row_general: ["第 {n} 行", "row {n}"],
    late_note: ["逾期提交", "submitted late"],
    import_title: ["导入回执", "Import the receipt"],
    import_help: ["上传填好的回执（Word .docx，或 .xlsx、.xls、.ods、.csv），将替换整份名单；视频调试负责人及手机可写在表格上方、下方或旁边，也可填在本页上方。", "Upload the filled-in receipt (Word .docx, or .xlsx, .xls, .ods, .csv); it replaces the whole list. The video technician and mobile may be above, below or beside the table, or in the fields at the top of this page."],
    import_button: ["上传并导入", "Upload and import"],
    template: ["下载回执模板（Excel）", "Receipt template (Excel)"],
    template_docx: ["下载回执（Word）", "Receipt (Word)"],
    sheet_cell: ["表格第 {row} 行", "table row {row}"],
    imported: ["已从表格导入 {n} 人（第 {r} 版）。", "Imported {n} people from the sheet (revision {r})."],
    sign_in_sheet: ["打印签到表", "Print the sign-in sheet"],
  });

  const venueId = HC.data.venue;
  const eventId = HC.data.event;
  const FIELDS = ["name", "organization", "title", "phone", "email"];
  // In the order of the notices; a cut of seats moves the public first and never the first five.
  const state = { venue: null, registration: null, deadlines: [], done: [], rows: [] };

  const summary = el("section", { class: "card", id: "venue" }, t("loading"));
  const deadlines = el("section", { class: "card", id: "deadlines" });
  const approval = el("section", { class: "card", id: "approval" });
  const listBanner = el("div", { id: "list-banner", "aria-live": "polite" });
  const technicianName = el("input", { name: "technician-name", autocomplete: "off" });
  const technicianPhone = el("input", { name: "technician-phone", inputmode: "tel", autocomplete: "off" });
  const body = el("tbody");
  const replaced = el("div", { id: "replaced" });
  const list = el("section", { class: "card", id: "list" },
    el("h2", {}, t("list")),
    el("div", { class: "row" },
      el("label", { class: "grow" }, `${t("technician")} · ${t("col_name")}`, technicianName),
      el("label", { class: "grow" }, `${t("technician")} · ${t("col_phone")}`, technicianPhone)),
    el("div", { class: "table-scroll" },
      el("table", { id: "attendees" },
        el("thead", {}, el("tr", {}, el("th", {}, "#"), FIELDS.map((f) => el("th", {}, t(`col_${f}`))),
          el("th", {}, t("col_participation")), el("th", {}, t("col_category")), el("th", {}, t("col_problems")), el("th", {}))),
        body)),
    el("div", { class: "row" },
      el("button", { type: "button", id: "add-row", onclick: () => { state.rows.push(blank()); renderRows(); } }, t("add_row")),
      el("span", { class: "grow" }),
      el("button", { type: "button", class: "primary", id: "submit-list", onclick: submit }, t("submit_list"))),
    listBanner,
    replaced);
  const importFile = el("input", { type: "file", name: "file", id: "import-file", accept: ".docx,.xlsx,.xls,.ods,.csv" });
  const importBanner = el("div", { id: "import-banner", "aria-live": "polite" });
  const importing = el("section", { class: "card", id: "import" },
    el("h2", {}, t("import_title")),
    el("p", { class: "hint" }, t("import_help")),
    el("div", { class: "row" }, importFile,
      el("button", { type: "button", id: "import-button", onclick: importSheet }, t("import_button")),
      el("span", { class: "grow" }),
      el("a", { href: `${HC.base}/api/v1/venues/${venueId}/registration/template.docx` }, t("template_docx")), " · ",
      el("a", { href: `${HC.base}/api/v1/venues/${venueId}/registration/template.xlsx` }, t("template"))),
    importBanner);
  const contacts = el("section", { class: "card", id: "contacts", hidden: true });
  const onAirBox = el("section", { class: "on-air-box", id: "on-air", hidden: true });
  HC.onAir(onAirBox, { eventId, venueId, cue: false });
  HC.app.replaceChildren(onAirBox, summary, contacts, list, importing, deadlines, approval);

  async function importSheet() {
    if (!importFile.files.length) return;
    const form = new FormData();
    form.append("file", importFile.files[0]);
    if (technicianName.value.trim() || technicianPhone.value.trim()) {
      form.append("technician_name", technicianName.value);
      form.append("technician_phone", technicianPhone.value);
    }
    const reply = await api("POST", `/api/v1/venues/${venueId}/registration/import`, form);
    if (reply.ok) {
      showRegistration(reply.data);
      renderSummary();
      banner(importBanner, "good", t("imported", { n: reply.data.attendees.filter((a) => a.status === "registered").length, r: reply.data.revision }));
      return;
    }
    const errors = reply.problem.errors || [];
    importBanner.replaceChildren(
      el("p", { class: "banner bad", role: "alert" }, HC.problemText(reply.problem)),
      errors.length ? el("ul", { class: "problems-list" }, errors.map((e) => el("li", { dataset: { sheetRow: e.sheet_row || "" } },
        e.sheet_row ? `${t("sheet_cell", { row: e.sheet_row })} · ` : "",
        e.column ? `${e.column}：` : (e.field ? `${e.field}：` : ""),
        HC.message(e.message)))) : "");
  }

  function blank() {
    return { id: null, name: "", organization: "", title: "", phone: "", email: "", participation: "onsite", category: "delegate" };
  }

  function renderSummary() {
    const v = state.venue;
    const r = state.registration;
    summary.replaceChildren(
      el("h2", {}, v.name, " ", el("span", { class: "chip muted" }, t(`kind_${v.kind}`))),
      el("div", { class: "row" },
        el("span", { class: `chip ${v.approval === "approved" ? "good" : v.approval === "rejected" ? "bad" : "warn"}`, id: "approval-state" }, t(`approval_${v.approval}`)),
        el("span", { class: "chip info" }, t("capacity", { n: v.capacity })),
        el("span", { class: `chip ${r.submitted_at ? "good" : "warn"}` },
          r.submitted_at ? t("list_submitted", { at: when(r.submitted_at), r: r.revision }) : t("list_missing")),
        r.late && el("span", { class: "chip bad" }, t("late_note")),
        r.review && r.review.status === "accepted" ? el("span", { class: "chip good", id: "list-accepted" }, t("list_accepted")) : "",
        el("span", { class: "grow" }),
        el("a", { href: `${HC.base}/venues/${venueId}/door` }, t("door_page"))),
      // Returned by the organiser: what to change, until a new list is sent.
      r.review && r.review.status === "returned"
        ? el("p", { class: "banner bad", id: "list-returned", role: "alert" }, t("list_returned", { at: when(r.review.at), comment: r.review.comment }))
        : "",
      el("p", { class: "hint", id: "rooms" }, `${t("rooms")}：`, v.rooms.map((room, i) => [i ? "、" : "",
        el("span", { class: "room" }, `${room.name}（${room.capacity}）`, " ",
          el("a", { href: `${HC.base}/rooms/${room.id}/sign-in-sheet` }, t("sign_in_sheet")))])),
      HC.data.reviewer === "true" && r.submitted_at ? reviewBox() : "",
    );
  }

  // The event's organiser accepts the list, or returns it with a comment: two presses, for the
  // venue is emailed the comment.
  function reviewBox() {
    const comment = el("textarea", { rows: "2", id: "review-comment", placeholder: t("review_comment") });
    const warning = el("p", { class: "hint", id: "return-warning", hidden: true });
    const result = el("div", { "aria-live": "polite" });
    const returnButton = el("button", { type: "button", class: "bad", id: "return-list", onclick: () => send("returned") }, t("return_list"));
    async function send(status) {
      if (status === "returned" && !returnButton.dataset.armed) {
        returnButton.dataset.armed = "1";
        returnButton.textContent = t("confirm_return");
        warning.textContent = t("return_warning");
        warning.hidden = false;
        return;
      }
      const reply = await api("POST", `/api/v1/venues/${venueId}/registration/review`, { status, comment: comment.value });
      if (reply.ok) {
        state.registration = reply.data;
        renderSummary();
      } else {
        result.replaceChildren(el("p", { class: "banner bad", role: "alert" }, HC.problemText(reply.problem),
          " ", (reply.problem.errors || []).map((e) => HC.message(e.message)).join("；")));
      }
    }
    return el("div", { class: "review", id: "list-review" },
      el("label", {}, t("review_title"), comment),
      el("div", { class: "row" },
        el("button", { type: "button", class: "good", id: "accept-list", onclick: () => send("accepted") }, t("accept_list")), returnButton),
      warning, result);
  }

  function renderDeadlines() {
    const done = new Map(state.done.map((d) => [d.deadline_id, d]));
    const items = state.deadlines.map((d) => {
      let status;
      let form = null;
      if (d.kind === "registration") {
        status = state.registration.submitted_at ? el("span", { class: "chip good" }, t("list_submitted", { at: when(state.registration.submitted_at), r: state.registration.revision }))
          : el("span", { class: "chip warn" }, t("list_missing"));
      } else if (d.kind === "video_check") {
        const check = state.venue.video_check;
        status = el("span", { class: `chip ${check === "passed" ? "good" : check === "failed" ? "bad" : "warn"}` }, t(`video_check_${check}`));
      } else {
        const delivered = done.get(d.id);
        const review = delivered && delivered.review;
        status = !delivered ? el("span", { class: "chip warn" }, t("not_done"))
          : review && review.status === "returned" ? el("span", { class: "chip bad" }, t("returned_chip"))
            : el("span", { class: "chip good" }, t("done_at", { at: when(delivered.done_at) }),
              delivered.files.length ? ` · ${t("files_sent", { n: delivered.files.length })}` : "",
              review ? ` · ${t("deliverable_accepted")}` : "");
        form = [review && review.status === "returned"
          ? el("p", { class: "banner bad returned", role: "alert" }, t("deliverable_returned", { at: when(review.at), comment: review.comment }))
          : null, deliverableForm(d, delivered)];
      }
      const r = d.requires || {};
      const rules = [r.text_min_chars && t("requires_text", { n: r.text_min_chars }), r.photos_min && t("requires_photos", { n: r.photos_min }),
        r.caption_max_chars && t("requires_caption", { n: r.caption_max_chars })].filter(Boolean);
      return el("li", { dataset: { deadline: d.id } },
        el("div", { class: "row" }, el("b", {}, d.title), el("span", { class: "chip muted" }, t(`deadline_${d.kind}`)),
          el("span", {}, when(d.due_at)), el("span", { class: "hint" }, HC.countdown(d.due_at)), status),
        rules.length ? el("p", { class: "hint requires" }, rules.join(HC.lang === "en" ? "; " : "；")) : null,
        form);
    });
    deadlines.replaceChildren(el("h2", {}, t("deadlines")), el("ul", { class: "stack" }, items));
  }

  function deliverableForm(deadline, delivered) {
    const note = el("textarea", { name: "text", rows: "3" });
    note.value = delivered ? delivered.text : "";
    const file = el("input", { type: "file", name: "file", multiple: true });
    const message = el("div");
    const send = async (event) => {
      event.preventDefault();
      const form = new FormData();
      form.append("text", note.value);
      for (const f of file.files) form.append("file", f, f.name);
      const reply = await api("POST", `/api/v1/venues/${venueId}/deliverables/${deadline.id}`, form);
      if (reply.ok) {
        await load();
      } else {
        // Each broken rule on its own line, a photo's caption named by its file.
        const names = [...file.files].map((f) => f.name);
        const lines = ((reply.problem && reply.problem.errors) || []).map((e) => {
          const at = /^files\[(\d+)\]$/.exec(e.field);
          return el("li", { dataset: { field: e.field } }, `${at ? names[Number(at[1])] || e.field : e.field}：${HC.message(e.message)}`);
        });
        message.replaceChildren(el("div", { class: "banner bad", role: "alert" }, HC.problemText(reply.problem),
          lines.length ? el("ul", {}, lines) : null));
      }
    };
    return el("form", { class: "row", onsubmit: send },
      el("label", { class: "grow" }, t("note"), note), el("label", {}, t("file"), file),
      el("button", { type: "submit" }, t(delivered ? "send_again" : "mark_done")), message);
  }

  function renderApproval() {
    const v = state.venue;
    const record = v.approval_record || {};
    const status = el("select", { name: "status" },
      el("option", { value: "approved" }, t("approval_approved")), el("option", { value: "rejected" }, t("approval_rejected")));
    status.value = v.approval === "rejected" ? "rejected" : "approved";
    const authority = el("input", { name: "authority", value: record.authority || "" });
    const reference = el("input", { name: "reference", value: record.reference || "" });
    const note = el("input", { name: "note", value: record.note || "" });
    const message = el("div", { "aria-live": "polite" });
    const send = async (event) => {
      event.preventDefault();
      const reply = await api("POST", `/api/v1/venues/${venueId}/approval`,
        { status: status.value, authority: authority.value, reference: reference.value, note: note.value });
      if (reply.ok) {
        state.venue = reply.data;
        renderSummary();
        banner(message, "good", t("saved"));
      } else {
        banner(message, "bad", HC.problemText(reply.problem));
      }
    };
    approval.replaceChildren(el("h2", {}, t("approval")),
      el("form", { class: "row", id: "approval-form", onsubmit: send },
        el("label", {}, t("approval_status"), status), el("label", { class: "grow" }, t("authority"), authority),
        el("label", {}, t("reference"), reference), el("label", { class: "grow" }, t("note"), note),
        el("button", { type: "submit", class: "primary" }, t("record"))),
      message);
  }

  function renderRows(errors) {
    const byRow = HC.errorsByRow(errors);
    body.replaceChildren(...state.rows.map((row, i) => {
      const rowErrors = byRow.get(i) || [];
      const bad = new Set(rowErrors.map((e) => e.field));
      const problems = rowErrors.map(HC.rowProblem);
      const actions = el("td", { class: "actions" },
        el("button", { type: "button", class: "remove", onclick: () => { state.rows.splice(i, 1); renderRows(); } }, t("remove")),
        row.id && el("button", { type: "button", class: "replace", onclick: () => openReplace(i) }, t("replace")));
      return el("tr", { class: rowErrors.length ? "has-error" : null, dataset: { row: i } },
        el("td", {}, i + 1), HC.personCells(row, FIELDS, bad), el("td", { class: "problems" }, problems), actions);
    }));
  }

  function openReplace(i) {
    const old = state.rows[i];
    const row = body.querySelector(`tr[data-row="${i}"]`);
    const person = blank();
    const inputs = FIELDS.map((field) => el("input", { name: field, placeholder: t(`col_${field}`), oninput: (e) => { person[field] = e.target.value; } }));
    const message = el("div");
    const send = async () => {
      const reply = await api("POST", `/api/v1/attendees/${old.id}/replace`,
        { name: person.name, organization: person.organization, title: person.title, phone: person.phone, email: person.email || null });
      if (reply.ok) {
        await load();
        banner(listBanner, "good", t("replaced_ok", { name: reply.data.name }));
      } else {
        const errors = reply.problem.errors || [];
        inputs.forEach((input) => input.classList.toggle("invalid", errors.some((e) => e.field === input.name)));
        banner(message, "bad", errors.length ? errors.map((e) => `${t(`col_${e.field}`)}：${HC.message(e.message)}`).join("；") : HC.problemText(reply.problem));
      }
    };
    const form = el("tr", { class: "replace-form" }, el("td", { colspan: 10 },
      el("div", { class: "row" }, el("b", {}, `${old.name} → ${t("replace_with")}`), inputs,
        el("button", { type: "button", class: "primary", onclick: send }, t("replace")),
        el("button", { type: "button", onclick: () => form.remove() }, t("cancel"))),
      message));
    row.after(form);
    inputs[0].focus();
  }

  function renderReplaced() {
    const gone = state.registration.attendees.filter((a) => a.status === "replaced");
    replaced.replaceChildren(gone.length
      ? el("details", {}, el("summary", {}, `${t("replaced_people")}（${gone.length}）`),
        el("ul", {}, gone.map((a) => el("li", {}, `${a.name} · ${a.organization} · ${a.title}`))))
      : "");
  }

  function showRegistration(registration) {
    state.registration = registration;
    technicianName.value = registration.technician ? registration.technician.name : "";
    technicianPhone.value = registration.technician ? registration.technician.phone : "";
    state.rows = registration.attendees.filter((a) => a.status === "registered").map((a) => ({ ...a, email: a.email || "" }));
    if (state.rows.length === 0) state.rows = [blank(), blank(), blank()];
    renderRows();
    renderReplaced();
  }

  async function submit() {
    // Rows left entirely empty are not people; drop them so row numbers match what is sent.
    state.rows = state.rows.filter((r) => r.id || FIELDS.some((f) => (r[f] || "").trim()));
    const rows = state.rows;
    const payload = {
      technician: { name: technicianName.value, phone: technicianPhone.value },
      attendees: rows.map((r) => ({
        name: r.name, organization: r.organization, title: r.title, phone: r.phone,
        email: r.email ? r.email : null, participation: r.participation || "onsite", category: r.category || "delegate",
      })),
    };
    const button = document.getElementById("submit-list");
    button.disabled = true;
    const reply = await api("PUT", `/api/v1/venues/${venueId}/registration`, payload);
    button.disabled = false;
    technicianName.classList.remove("invalid");
    technicianPhone.classList.remove("invalid");
    if (reply.ok) {
      showRegistration(reply.data);
      renderSummary();
      renderDeadlines();
      banner(listBanner, "good", t("submitted", { n: reply.data.attendees.filter((a) => a.status === "registered").length, r: reply.data.revision }));
      return;
    }
    const errors = reply.problem.errors || [];
    renderRows(errors);
    const general = [];
    for (const e of errors) {
      if (e.field && e.field.startsWith("technician")) {
        (e.field.endsWith("phone") ? technicianPhone : technicianName).classList.add("invalid");
        general.push(`${t("technician")}：${HC.message(e.message)}`);
      } else if (e.row === undefined || e.row === null) {
        general.push(HC.message(e.message));
      }
    }
    const rowsWithErrors = new Set(errors.filter((e) => e.row !== undefined && e.row !== null).map((e) => e.row)).size;
    const headline = reply.problem.code === "invalid_registration" && rowsWithErrors
      ? t("rows_bad", { n: rowsWithErrors }) : HC.problemText(reply.problem);
    banner(listBanner, "bad", [headline, ...general].join(" "));
  }

  async function load() {
    const [venue, registration, deadlineList, done, event] = await Promise.all([
      api("GET", `/api/v1/venues/${venueId}`),
      api("GET", `/api/v1/venues/${venueId}/registration`),
      api("GET", `/api/v1/events/${eventId}/deadlines`),
      api("GET", `/api/v1/venues/${venueId}/deliverables`),
      api("GET", `/api/v1/events/${eventId}`),
    ]);
    if (event.ok) HC.contacts(contacts, event.data);
    if (!venue.ok || !registration.ok) {
      banner(summary, "bad", HC.problemText((venue.ok ? registration : venue).problem));
      return;
    }
    state.venue = venue.data;
    state.deadlines = deadlineList.ok ? deadlineList.data : [];
    state.done = done.ok ? done.data : [];
    showRegistration(registration.data);
    renderSummary();
    renderDeadlines();
    renderApproval();
  }
  load();
})();
