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

  // Copy buttons: data-copy names the input whose value to copy. A visible
  // "Copied" confirms it; where the clipboard is unavailable the text is
  // selected so Ctrl+C works.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-copy]");
    if (!btn) return;
    var input = document.querySelector(btn.getAttribute("data-copy"));
    if (!input) return;
    var status = btn.closest("dialog, section, div").parentNode.querySelector("[data-copy-status]");
    var say = function (msg) { if (status) status.textContent = msg; };
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { btn.textContent = "Copied"; say("Copied to the clipboard."); },
        function () { say("Press Ctrl+C (or Cmd+C) to copy the selected text."); }
      );
    } else {
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      if (ok) { btn.textContent = "Copied"; say("Copied to the clipboard."); }
      else { say("Press Ctrl+C (or Cmd+C) to copy the selected text."); }
    }
  });

  // Download buttons save the value of the input named by data-download as a
  // text file. The value never leaves the page: the file is built locally.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-download]");
    if (!btn) return;
    var input = document.querySelector(btn.getAttribute("data-download"));
    if (!input) return;
    var url = URL.createObjectURL(new Blob([input.value + "\n"], { type: "text/plain" }));
    var a = document.createElement("a");
    a.href = url;
    a.download = btn.getAttribute("data-filename") || "token.txt";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    var status = btn.parentNode.parentNode.querySelector("[data-copy-status]");
    if (status) status.textContent = "Saved as " + a.download + ".";
  });

  // Read-only secret fields select their whole value on focus.
  document.addEventListener("focusin", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-select-all]")) evt.target.select();
  });

  // A data-check-all checkbox ticks or clears every checkbox of its form
  // named by its value ("select all on this page").
  document.addEventListener("change", function (evt) {
    var all = evt.target.closest && evt.target.closest("[data-check-all]");
    if (!all || !all.form) return;
    var boxes = all.form.querySelectorAll('input[type=checkbox][name="' + all.getAttribute("data-check-all") + '"]');
    boxes.forEach(function (b) { b.checked = all.checked; });
  });

  // A custom date (the audit log's period, a new token's expiry) shows only
  // while "Custom date" is chosen; hidden inputs are disabled so the form
  // does not send them. Without a script the date is always there.
  var customChoice = "select[name=range], input[name=expiry]";
  function showCustomDate(choice) {
    var custom = choice.value === "custom";
    choice.form.querySelectorAll("[data-custom-date]").forEach(function (el) {
      el.hidden = !custom;
      el.querySelectorAll("input").forEach(function (i) { i.disabled = !custom; });
    });
  }
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el.matches && el.matches(customChoice) && el.form) showCustomDate(el);
  });
  document.querySelectorAll("input[name=expiry]:checked").forEach(function (el) {
    if (el.form) showCustomDate(el);
  });

  // Elements marked data-needs-js (Copy and Download) are hidden until a
  // script can make them work.
  document.querySelectorAll("[data-needs-js]").forEach(function (el) { el.hidden = false; });

  // canModal: the browser has modal dialogs; without them the pages stay
  // pages.
  var canModal = typeof HTMLDialogElement === "function" && !!HTMLDialogElement.prototype.showModal;

  // showModal lifts node (a section its heading labels) into a modal
  // dialog and focuses focus. Escape, Done or Cancel closes it; the dialog
  // then leaves the page, taking node with it, and closed runs.
  function showModal(node, className, focus, closed) {
    var dialog = document.createElement("dialog");
    dialog.className = className;
    dialog.setAttribute("aria-labelledby", node.getAttribute("aria-labelledby"));
    dialog.appendChild(node);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      dialog.remove();
      closed();
    });
    dialog.showModal();
    if (focus) focus.focus();
  }

  // The token reveal (data-reveal) becomes a modal dialog over the user's
  // page, with the focus on Copy. Closing it takes the secret out of the
  // page and puts the focus on the token's row, which data-reveal names.
  var reveal = document.querySelector("[data-reveal]");
  if (reveal && canModal) {
    showModal(reveal, "reveal-dialog", reveal.querySelector("[data-copy]"), function () {
      var row = document.querySelector(reveal.getAttribute("data-reveal"));
      if (row) {
        row.setAttribute("tabindex", "-1");
        row.focus();
      }
    });
  }
  // Done and Cancel close their dialog; without a dialog they are links.
  document.addEventListener("click", function (evt) {
    var done = evt.target.closest("[data-close-dialog]");
    var d = done && done.closest("dialog");
    if (d) {
      evt.preventDefault();
      d.close();
    }
  });

  // A link marked data-dialog (a token row's Rotate…, Revoke…) opens its
  // confirmation page as a modal dialog over this page: the page's
  // [data-confirm-card] section is fetched into a <dialog>. Escape or Cancel
  // closes it and the focus returns to the menu. Without a script, or when
  // the page is not a confirmation, the link is simply followed.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest("a[data-dialog]");
    if (!link || !canModal || evt.button !== 0 || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.altKey) return;
    evt.preventDefault();
    var menu = link.closest("details");
    var back = menu ? menu.querySelector("summary") : link;
    if (menu) menu.open = false;
    fetch(link.href, { credentials: "same-origin" }).then(function (r) {
      return r.ok && !r.redirected ? r.text() : null;
    }).then(function (html) {
      var card = html && new DOMParser().parseFromString(html, "text/html").querySelector("[data-confirm-card]");
      if (!card) {
        window.location.assign(link.href);
        return;
      }
      card = document.importNode(card, true);
      // The choice to make, else the safe way out: Cancel.
      var first = card.querySelector("input:checked") || card.querySelector("[data-close-dialog]");
      showModal(card, "confirm-dialog", first, function () { back.focus(); });
    }, function () {
      window.location.assign(link.href);
    });
  });

  // An open row menu, nav menu or picker closes when the click lands
  // elsewhere, and on Escape, which returns the focus to its button.
  document.addEventListener("click", function (evt) {
    document.querySelectorAll("details.menu[open], details.nav-menu[open], details.picker[open]").forEach(function (d) {
      if (!d.contains(evt.target)) d.open = false;
    });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var d = evt.target.closest && evt.target.closest("details[open]");
    if (d && !d.closest("dialog")) {
      d.open = false;
      d.querySelector("summary").focus();
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
