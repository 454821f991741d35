/* ipledge: small behaviours wired by data attributes (no inline scripts, so a strict CSP can be applied). */
(function () {
  "use strict";

  // Ask before submitting forms marked with data-confirm (e.g. revoking an API key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Submit a form when one of its fields marked data-autosubmit changes.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.dataset && field.dataset.autosubmit !== undefined && field.form) {
      field.form.requestSubmit();
    }
  });

  // Copy the value of the element named by data-copy-target to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var source = document.querySelector(button.dataset.copyTarget);
    if (!source) return;
    source.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(source.value);
    } else {
      document.execCommand("copy");
    }
    button.classList.add("btn-success");
  });
})();
