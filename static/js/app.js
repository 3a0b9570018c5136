// Resonance: the little the pages need beyond htmx. No inline script anywhere (the CSP forbids it),
// and everything here is an extra: every page works without JavaScript.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Every htmx request carries the CSRF token as a header (forms carry it as a field too).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Polling only while the tab is visible; a poll right away when it becomes visible again.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (document.visibilityState === "hidden" && elt && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && window.htmx) {
      document.querySelectorAll("[data-poll]").forEach(function (elt) { window.htmx.trigger(elt, "poll-now"); });
    }
  });

  // A poll waits while a field has the focus: its swap would take away what you are typing.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var field = document.activeElement;
    if (elt && elt.hasAttribute("data-poll") && field && field.matches("input:not([type=checkbox]):not([type=hidden]), textarea, select")) {
      event.preventDefault();
    }
  });

  // Notices with data-expires="N" (the Undo card, toasts) leave after N seconds.
  function expire(root) {
    var found = root.matches && root.matches("[data-expires]") ? [root] : [];
    if (root.querySelectorAll) {
      found = found.concat(Array.prototype.slice.call(root.querySelectorAll("[data-expires]")));
    }
    found.forEach(function (elt) {
      // Marked once its countdown runs: a notice swapped in twice leaves once, and
      // the browser tests wait for the mark before moving the clock on.
      if (elt.hasAttribute("data-expiring")) { return; }
      elt.setAttribute("data-expiring", "");
      var seconds = parseFloat(elt.getAttribute("data-expires")) || 6;
      window.setTimeout(function () {
        if (!elt.isConnected) { return; }
        elt.classList.add("leaving");
        window.setTimeout(function () { elt.remove(); }, 300);
      }, seconds * 1000);
    });
  }

  // Open log panels stay open when the jobs list refreshes itself.
  var openPanels = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    openPanels = target ? Array.prototype.map.call(target.querySelectorAll("details[open][id]"), function (d) { return d.id; }) : [];
  });
  // Sections a poll replaces out of band (the downloads page) keep theirs open too.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.querySelectorAll) {
      Array.prototype.forEach.call(target.querySelectorAll("details[open][id]"), function (d) { openPanels.push(d.id); });
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    openPanels.forEach(function (id) {
      var panel = document.getElementById(id);
      if (panel) { panel.open = true; }
    });
    openPanels = [];
  });

  // "Select all" for the bulk bar, and how many are selected.
  function pickBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][name="mbid"][form="bulk"]'));
  }
  function updateSelection() {
    var bulk = document.getElementById("bulk");
    if (!bulk) { return; }
    var boxes = pickBoxes();
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    var label = bulk.querySelector(".selected-count");
    if (label) { label.textContent = chosen ? chosen + " selected" : ""; }
    bulk.classList.toggle("has-selection", chosen > 0);
    var all = document.querySelector("[data-select-all]");
    if (all) { all.checked = boxes.length > 0 && chosen === boxes.length; }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      pickBoxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all], input[name='mbid'][form='bulk']")) { updateSelection(); }
  });

  // A cover that fails to load leaves the placeholder behind it visible. A cover that failed
  // before this script ran (it runs deferred) is found by its zero natural width.
  document.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target.tagName === "IMG" && target.closest(".cover")) { target.remove(); }
  }, true);
  function dropBrokenCovers(root) {
    (root.querySelectorAll ? root.querySelectorAll(".cover img") : []).forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) { img.remove(); }
    });
  }

  // "All on screen" works only with this script; the list's head it sits in is swapped in again after actions.
  function showSelectAll(root) {
    (root.querySelectorAll ? root.querySelectorAll(".select-all[hidden]") : []).forEach(function (elt) { elt.hidden = false; });
  }

  document.addEventListener("htmx:load", function (event) {
    showSelectAll(event.detail.elt.parentNode || event.detail.elt);
    expire(event.detail.elt);
    updateSelection();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    showSelectAll(document);
    expire(document.body);
    dropBrokenCovers(document);
    updateSelection();
  });
})();
