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
