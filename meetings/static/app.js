// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const body = document.querySelector(`#${button.dataset.addRow} tbody`);
  const last = body.lastElementChild;
  const row = last.cloneNode(true);
  row.querySelectorAll("input").forEach((input) => {
    input.value = "";
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  });
  row.querySelectorAll(".field-error").forEach((node) => node.remove());
  row.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
  // Labels end with the row's number ("E-mail 3"): the new row gets the next one.
  const position = body.children.length + 1;
  row.querySelectorAll("[aria-label]").forEach((node) => {
    node.setAttribute("aria-label", node.getAttribute("aria-label").replace(/\d+$/, position));
  });
  // A numbered row (focus items) takes the next free number.
  const number = row.querySelector("input[name=focus_number]");
  if (number) {
    const used = [...body.querySelectorAll("input[name=focus_number]")].map((i) => +i.value || 0);
    number.value = Math.max(0, ...used) + 1;
  }
  body.appendChild(row);
  row.querySelector("input").focus();
});

// --- the session form: the end after the start, and a running count of invited sites ---
const sessionForm = document.querySelector("[data-live-validate]");
if (sessionForm) {
  const starts = sessionForm.querySelector("#f-starts_at");
  const ends = sessionForm.querySelector("#f-ends_at");
  const message = sessionForm.querySelector("#msg-end-before-start").innerHTML;
  const checkTimes = () => {
    const bad = starts.value && ends.value && ends.value <= starts.value;
    ends.setCustomValidity(bad ? message : "");
    ends.setAttribute("aria-invalid", bad ? "true" : "false");
    let note = ends.parentElement.querySelector(".live-error");
    if (bad && !note) {
      note = document.createElement("p");
      note.className = "field-error live-error";
      note.textContent = message;
      ends.parentElement.appendChild(note);
    } else if (!bad && note) {
      note.remove();
    }
  };
  starts.addEventListener("input", checkTimes);
  ends.addEventListener("input", checkTimes);

  const output = sessionForm.querySelector("#picked");
  const template = sessionForm.querySelector("#msg-picked").innerHTML;
  const boxes = () => [...sessionForm.querySelectorAll("input[name=site_ids]")];
  const count = () => {
    const picked = boxes().filter((box) => box.checked);
    const clusters = new Set(picked.map((box) => box.dataset.cluster).filter((c) => c !== "0"));
    output.textContent = template.replace("{sites}", picked.length).replace("{clusters}", clusters.size);
    sessionForm.querySelectorAll("details.cluster-pick").forEach((group) => {
      const inside = [...group.querySelectorAll("input[name=site_ids]")];
      const toggle = group.querySelector("[data-cluster-toggle]");
      const on = inside.filter((box) => box.checked).length;
      toggle.checked = on === inside.length;
      toggle.indeterminate = on > 0 && on < inside.length;
    });
  };
  sessionForm.addEventListener("change", (event) => {
    if (event.target.matches("[data-cluster-toggle]")) {
      event.target.closest("details").querySelectorAll("input[name=site_ids]")
        .forEach((box) => { box.checked = event.target.checked; });
    }
    count();
  });
  sessionForm.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-pick]");
    if (!pick) return;
    boxes().forEach((box) => { box.checked = pick.dataset.pick === "all"; });
    count();
  });
  // A click on the cluster checkbox must not fold the group open or shut.
  sessionForm.querySelectorAll("[data-cluster-toggle]").forEach((toggle) => {
    toggle.addEventListener("click", (event) => event.stopPropagation());
  });
  count();
}

// --- the agenda: reorder by keyboard (↑/↓ buttons) or mouse (drag), running timeline ---
const agenda = document.querySelector("form[data-agenda]");
if (agenda) {
  const body = agenda.querySelector("tbody");
  const start = new Date(agenda.dataset.start);
  const end = new Date(agenda.dataset.end);
  const clock = new Intl.DateTimeFormat("vi-VN", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: agenda.dataset.tz,
  });
  const retime = () => {
    let cursor = start;
    let overrun = false;
    body.querySelectorAll("tr").forEach((row) => {
      const title = row.querySelector("input[name=agenda_title]");
      const minutes = row.querySelector("input[name=agenda_duration]");
      const slot = row.querySelector("[data-slot]");
      if (!title || !minutes) return;
      if (!title.value.trim()) { slot.textContent = ""; return; }
      slot.textContent = clock.format(cursor);
      const next = new Date(cursor.getTime() + (parseInt(minutes.value, 10) || 0) * 60000);
      row.classList.toggle("overrun", next > end);
      overrun = overrun || next > end;
      cursor = next;
    });
    agenda.querySelector("[data-overrun]").hidden = !overrun;
  };
  agenda.addEventListener("input", retime);
  agenda.addEventListener("click", (event) => {
    const move = event.target.closest("[data-move]");
    if (!move) return;
    const row = move.closest("tr");
    if (move.dataset.move === "up" && row.previousElementSibling) {
      body.insertBefore(row, row.previousElementSibling);
    } else if (move.dataset.move === "down" && row.nextElementSibling) {
      body.insertBefore(row.nextElementSibling, row);
    }
    move.focus();
    retime();
  });
  let dragged = null;
  body.addEventListener("dragstart", (event) => { dragged = event.target.closest("tr"); });
  body.addEventListener("dragover", (event) => {
    event.preventDefault();
    const over = event.target.closest("tr");
    if (!dragged || !over || over === dragged) return;
    const after = event.clientY > over.getBoundingClientRect().top + over.offsetHeight / 2;
    body.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  body.addEventListener("drop", (event) => { event.preventDefault(); dragged = null; retime(); });
  retime();
}

// The invitations panel: while messages are queued or being sent, poll the summary and
// move the progress bar; reload once the last one is done so every row shows its result.
for (const panel of document.querySelectorAll("[data-delivery]")) {
  const bar = panel.querySelector("[data-progress]");
  const count = (name) => panel.querySelector(`[data-count="${name}"]`);
  const pending = count("pending");
  if (!bar || !pending || pending.textContent.trim() === "0") continue;
  let busy = true;
  const poll = async () => {
    try {
      const response = await fetch(panel.dataset.delivery, { credentials: "same-origin" });
      if (!response.ok) return;
      const s = await response.json();
      bar.max = s.total;
      bar.value = s.sent + s.failed;
      count("sent").textContent = s.sent;
      count("total").textContent = s.total;
      count("failed").textContent = s.failed;
      pending.textContent = s.queued + s.sending;
      // Rows waiting for a later send time or a retry do not keep the page polling.
      if (s.queued + s.sending - s.waiting <= 0 && busy) {
        busy = false;
        window.location.reload();
      }
    } finally {
      if (busy) window.setTimeout(poll, 1500);
    }
  };
  window.setTimeout(poll, 1000);
}

// The live board: tiles follow the Server-Sent Events of the session (EventSource
// reconnects by itself and each connection starts with a snapshot); operators act on a
// focused tile with one key, or open the dialog with Enter or a click.
for (const board of document.querySelectorAll("[data-board]")) {
  const labels = JSON.parse(board.dataset.labels);
  const rehearsal = board.dataset.rehearsal === "1";
  const zone = board.dataset.tz;
  const hhmm = (iso) => iso ? new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone }) : "";
  const connectedStates = ["connected", "present", "late"];
  const paint = (s, highlight) => {
    const tile = document.getElementById(`site-${s.site_id}`);
    if (!tile) return;
    const status = s.attendance_status || "none";
    tile.className = `tile st-${status} rh-${s.rehearsal_status || "none"}`;
    tile.dataset.connected = connectedStates.includes(status) ? "1" : "0";
    let text = s.attendance_status ? labels.status[s.attendance_status] : labels.none;
    if (rehearsal && !s.attendance_status && s.rehearsal_status) text = labels.rehearsal[s.rehearsal_status];
    tile.querySelector("[data-status]").textContent = text;
    tile.querySelector("[data-delegates]").textContent = s.delegates_present ?? "";
    tile.querySelector("[data-changed]").textContent = hhmm(s.changed_at);
    if (!highlight) return;
    tile.classList.add("flash-change");
    window.setTimeout(() => tile.classList.remove("flash-change"), 1200);
  };
  const totals = (summary) => {
    if (!summary) return;
    for (const node of board.querySelectorAll("[data-total]")) {
      const value = summary[node.dataset.total];
      if (value !== undefined) node.textContent = value.toLocaleString("vi-VN");
    }
  };
  const filter = () => {
    const onlyMissing = board.querySelector("[data-filter-missing]").checked;
    const cluster = board.querySelector("[data-filter-cluster]").value;
    for (const group of board.querySelectorAll(".board-group")) {
      group.hidden = cluster !== "" && group.dataset.cluster !== cluster;
      for (const tile of group.querySelectorAll(".tile")) tile.hidden = onlyMissing && tile.dataset.connected === "1";
    }
  };
  board.querySelector("[data-filter-missing]").addEventListener("change", filter);
  board.querySelector("[data-filter-cluster]").addEventListener("change", filter);
  const dot = board.querySelector("[data-live-state]");
  const source = new EventSource(board.dataset.board);
  const apply = (event, highlight) => {
    const data = JSON.parse(event.data);
    totals(data.summary);
    for (const s of data.sites) paint(s, highlight);
    filter();
  };
  source.addEventListener("snapshot", (event) => { dot.classList.add("on"); apply(event, false); });
  source.addEventListener("update", (event) => apply(event, true));
  source.addEventListener("error", () => dot.classList.remove("on"));

  const dialog = board.querySelector("[data-actions]");
  if (!dialog) continue;
  const form = dialog.querySelector("[data-action-form]");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const send = async (siteId, status, extra = {}) => {
    const rehearsalStep = status.startsWith("rehearsal:");
    const url = rehearsalStep ? board.dataset.rehearsalUrl : board.dataset.attendanceUrl;
    const body = rehearsalStep
      ? { site_id: Number(siteId), status: status.slice(10), note: extra.note || "" }
      : { site_id: Number(siteId), status, ...extra };
    // The answer is "" when saved, else what to tell the operator where they look. The
    // API answers this page's script in the page's language.
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
    } catch {
      return labels.failed.replace("{details}", labels.offline);
    }
    if (response.ok) return "";
    const problem = await response.json().catch(() => ({}));
    const details = (problem.error?.details || []).map((d) => d.message).join("; ") || problem.error?.message || labels.refused;
    return labels.failed.replace("{details}", details);
  };
  // A refusal is said in place, in a live region: on the tile for a key, in the dialog.
  const sayOnTile = (siteId, message) => {
    const tile = document.getElementById(`site-${siteId}`);
    if (!tile) return;
    tile.classList.toggle("refused", message !== "");
    tile.querySelector("[data-error]").textContent = message;
  };
  const dialogError = dialog.querySelector("[data-dialog-error]");
  const keys = { c: "connected", p: "present", l: "late", r: "left", a: "absent", t: "technical_issue" };
  const open = (tile) => {
    form.action = tile.dataset.action;
    form.dataset.site = tile.dataset.site;
    dialog.querySelector("[data-dialog-title]").textContent = tile.querySelector(".tile-name").textContent;
    form.elements.delegates_present.value = tile.querySelector("[data-delegates]").textContent;
    form.elements.note.value = "";
    dialogError.textContent = "";
    dialog.showModal();
    form.elements.delegates_present.focus();
  };
  board.addEventListener("click", (event) => {
    const tile = event.target.closest(".tile");
    if (tile) open(tile);
  });
  board.addEventListener("keydown", (event) => {
    const tile = event.target.closest(".tile");
    if (!tile || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(tile); return; }
    const status = keys[event.key.toLowerCase()];
    if (status) {
      event.preventDefault();
      send(tile.dataset.site, status).then((message) => sayOnTile(tile.dataset.site, message));
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const status = event.submitter?.value;
    if (!status) return;
    const delegates = form.elements.delegates_present.value;
    const extra = { note: form.elements.note.value };
    if (delegates !== "" && !status.startsWith("rehearsal:")) extra.delegates_present = Number(delegates);
    send(form.dataset.site, status, extra).then((message) => {
      dialogError.textContent = message;
      if (message) return;  // the dialog stays open with what was typed
      sayOnTile(form.dataset.site, "");
      dialog.close();
      document.getElementById(`site-${form.dataset.site}`)?.focus();
    });
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
}

// The record: notes save themselves a moment after typing stops. Each save names the
// version it started from; if another secretary saved in between, the server says 409
// and the page shows their text beside yours to choose, instead of overwriting either.
for (const area of document.querySelectorAll("[data-record]")) {
  if (area.dataset.mayWrite !== "1") continue;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const words = document.querySelector("[data-saved-label]").dataset;
  const url = area.dataset.notesUrl;
  const body = (section, text, version) => {
    const payload = { versions: { [section]: Number(version) } };
    if (section.startsWith("agenda:")) payload.agenda = { [section.slice(7)]: text };
    else payload[section] = text;
    return JSON.stringify(payload);
  };
  const save = async (box) => {
    const state = box.parentElement.querySelector("[data-note-state]");
    state.textContent = words.savingLabel;
    const section = box.dataset.note;
    const response = await fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body(section, box.value, box.dataset.version),
    });
    if (response.ok) {
      const saved = (await response.json())[section];
      box.dataset.version = saved.version;
      state.textContent = `${words.savedLabel} ${new Date().toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" })}`;
      return;
    }
    if (response.status !== 409) { state.textContent = words.failedLabel; return; }
    state.textContent = words.failedLabel;
    const theirs = (await (await fetch(url, { credentials: "same-origin" })).json())[section];
    box.parentElement.querySelector(".merge")?.remove();
    const merge = document.getElementById("merge-template").content.firstElementChild.cloneNode(true);
    merge.querySelector("[data-theirs]").textContent = theirs.text;
    merge.querySelector("[data-use-theirs]").addEventListener("click", () => {
      box.value = theirs.text; box.dataset.version = theirs.version; merge.remove(); state.textContent = "";
    });
    merge.querySelector("[data-keep-mine]").addEventListener("click", () => {
      box.dataset.version = theirs.version; merge.remove(); save(box);
    });
    box.after(merge);
  };
  for (const box of area.querySelectorAll("[data-note]")) {
    let timer = null;
    box.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => { timer = null; save(box); }, 800);
    });
    box.addEventListener("blur", () => {
      if (timer) { window.clearTimeout(timer); timer = null; save(box); }
    });
  }
}
