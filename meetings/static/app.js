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
  });
  row.querySelectorAll(".field-error").forEach((node) => node.remove());
  row.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
  body.appendChild(row);
  row.querySelector("input").focus();
});
