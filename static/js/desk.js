// TradeDesk page behaviour that htmx does not cover: the theme switch and the live indicator.
// Loaded in <head> (no defer) so the saved theme applies before first paint; everything else is
// delegated to `document`, so it works for content swapped in later.
(function () {
  "use strict";
  var root = document.documentElement;
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

  function setLive(state) {
    var indicator = document.getElementById("live-indicator");
    if (indicator) indicator.dataset.state = state;
  }
  document.addEventListener("htmx:wsOpen", function () { setLive("open"); });
  document.addEventListener("htmx:wsClose", function () { setLive("closed"); });
})();
