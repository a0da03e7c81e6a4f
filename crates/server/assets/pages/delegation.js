"use strict";
// The delegation page: one sending unit's list into a venue's hall, within the delegation's
// minimum and maximum; each rejected row shows its reason beside it.
(() => {
  const { t, el, api, when, banner } = HC;
  HC.texts({
    hall: ["会场：{hall}", "Hall: {hall}"],
    quota: ["应报 {min}–{max} 人", "{min}–{max} people"],
    registered_n: ["已报 {n} 人", "{n} on the list"],
    short: ["未达最少人数", "short of its minimum"],
    enough: ["人数已满足", "enough people"],
    contact: ["代表团联系人", "Delegation contact"],
    contact_name: ["姓名", "Name"],
    contact_phone: ["手机", "Mobile"],
    list: ["代表团名单", "The delegation's list"],
    list_submitted: ["名单已于 {at} 提交（第 {r} 版）", "list submitted {at} (revision {r})"],
    list_missing: ["名单尚未提交", "list not submitted yet"],
    err_over_quota: ["名单共 {count} 人，超过本代表团最多 {max} 人。", "{count} people on the list, more than the delegation's {max}."],
  });
  const FIELDS = ["name", "organization", "title", "phone"];
  const d = HC.data;
  const [min, max] = [Number(d.min), Number(d.max)];
  const state = { rows: [], errors: [] };

  const counts = el("div", { class: "chips", id: "counts" });
  const submittedAt = el("p", { class: "hint", id: "submitted-at" });
  const contactName = el("input", { id: "contact-name", autocomplete: "name" });
  const contactPhone = el("input", { id: "contact-phone", inputmode: "tel" });
  const body = el("tbody");
  const listBanner = el("div", { id: "list-banner", "aria-live": "polite" });
  HC.app.replaceChildren(
    el("section", { class: "card" },
      el("h2", {}, d.name),
      el("p", {}, t("hall", { hall: d.hall })),
      counts, submittedAt),
    el("section", { class: "card" },
      el("h2", {}, t("list")),
      el("div", { class: "row" },
        el("label", {}, `${t("contact")} · ${t("contact_name")}`, contactName),
        el("label", {}, `${t("contact")} · ${t("contact_phone")}`, contactPhone)),
      el("table", { id: "attendees" },
        el("thead", {}, el("tr", {}, el("th", {}, "#"), FIELDS.map((f) => el("th", {}, t(`col_${f}`))),
          el("th", {}, t("col_participation")), el("th", {}, t("col_category")), el("th", {}, t("col_problems")), el("th"))),
        body),
      el("div", { class: "row" },
        el("button", { type: "button", id: "add-row", onclick: () => { state.rows.push(blank()); renderRows(); } }, t("add_row")),
        el("button", { type: "button", class: "primary", id: "submit-list", onclick: submit }, t("submit_list"))),
      listBanner),
  );

  function blank() {
    return { name: "", organization: "", title: "", phone: "", participation: "onsite", category: "delegate" };
  }

  function renderCounts(registered) {
    counts.replaceChildren(
      el("span", { class: "chip info" }, t("quota", { min, max })),
      el("span", { class: `chip ${registered < min ? "warn" : "good"}`, id: "registered" }, t("registered_n", { n: registered })),
      el("span", { class: `chip ${registered < min ? "warn" : "good"}`, id: "short" }, t(registered < min ? "short" : "enough")));
  }

  function renderRows() {
    const byRow = HC.errorsByRow(state.errors);
    body.replaceChildren(...state.rows.map((row, i) => {
      const rowErrors = byRow.get(i) || [];
      const bad = new Set(rowErrors.map((e) => e.field));
      return el("tr", { class: rowErrors.length ? "has-error" : null, dataset: { row: i } },
        el("td", {}, i + 1), HC.personCells(row, FIELDS, bad),
        el("td", { class: "problems" }, rowErrors.map(HC.rowProblem)),
        el("td", { class: "actions" }, el("button", { type: "button", class: "remove", onclick: () => { state.rows.splice(i, 1); renderRows(); } }, t("remove"))));
    }));
  }

  function show(list) {
    state.rows = list.attendees.filter((a) => a.status === "registered")
      .map((a) => ({ name: a.name, organization: a.organization, title: a.title, phone: a.phone || "", participation: a.participation, category: a.category }));
    if (!state.rows.length) state.rows.push(blank());
    state.errors = [];
    contactName.value = list.technician ? list.technician.name : "";
    contactPhone.value = list.technician ? list.technician.phone : "";
    submittedAt.textContent = list.submitted_at ? t("list_submitted", { at: when(list.submitted_at), r: list.revision }) : t("list_missing");
    renderCounts(list.revision ? list.attendees.filter((a) => a.status === "registered").length : 0);
    renderRows();
  }

  async function submit() {
    const attendees = state.rows.filter((r) => FIELDS.some((f) => (r[f] || "").trim()))
      .map((r) => ({ ...r, phone: r.phone.trim() || null }));
    const reply = await api("PUT", `/api/v1/delegations/${d.delegation}/registration`,
      { technician: { name: contactName.value, phone: contactPhone.value }, attendees });
    if (reply.ok) {
      show(reply.data);
      banner(listBanner, "good", t("submitted", { n: reply.data.attendees.filter((a) => a.status === "registered").length, r: reply.data.revision }));
      return;
    }
    state.errors = reply.problem.errors || [];
    renderRows();
    banner(listBanner, "bad", HC.problemText(reply.problem, reply.problem));
  }

  (async () => {
    const reply = await api("GET", `/api/v1/delegations/${d.delegation}/registration`);
    if (reply.ok) show(reply.data);
    else banner(listBanner, "bad", HC.problemText(reply.problem));
  })();
})();
