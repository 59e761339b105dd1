// Warden's small progressive enhancements. Every page works without them.
(function () {
  "use strict";

  // Send the CSRF token with every htmx request, read from the page's meta tag.
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      evt.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });

  // Buttons with data-confirm ask before submitting their form.
  document.addEventListener("submit", function (evt) {
    var btn = evt.submitter;
    var msg = btn && btn.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      evt.preventDefault();
    }
  });

  // Flash messages can be dismissed.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-dismiss]");
    if (btn) {
      var el = btn.closest("[data-flash]");
      if (el) el.remove();
    }
  });
})();
