// TradeDesk page behaviour that htmx does not cover: the theme switch, the phone's menu and the
// live indicator.
// Loaded in <head> (no defer) so the saved theme applies before first paint; everything else is
// delegated to `document`, so it works for content swapped in later.
(function () {
  "use strict";
  var root = document.documentElement;
  // Script runs: the stylesheet may fold the phone's menu behind its button (without script
  // the menu stays open, so every page is still reachable).
  root.classList.add("js");
  var saved = localStorage.getItem("theme");
  if (saved === "dark" || saved === "light") root.dataset.theme = saved;

  function currentTheme() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-theme-toggle]")) return;
    var next = currentTheme() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    localStorage.setItem("theme", next);
  });

  // The phone's menu button opens and closes the main menu it controls.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (menu) menu.classList.toggle("open", open);
  });

  // The loaded ticket's status badge follows its row in the Tickets table, which the desk
  // pushes whole after every change (an entry's fill turns "Active / Pending" into "Open").
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!event.target || event.target.id !== "trades-table") return;
    document.querySelectorAll("[data-trade-status]").forEach(function (badge) {
      var row = document.querySelector("#trade-" + badge.dataset.tradeStatus + " .trade-status .badge");
      if (!row) return;
      badge.textContent = row.textContent;
      badge.className = row.className;
    });
  });

  function setLive(state) {
    var indicator = document.getElementById("live-indicator");
    if (indicator) indicator.dataset.state = state;
  }
  document.addEventListener("htmx:wsOpen", function () { setLive("open"); });
  document.addEventListener("htmx:wsClose", function () { setLive("closed"); });
})();
