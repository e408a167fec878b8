// Live updates land only where the page shows them. Every live push is a set of out-of-band
// fragments (one per element it updates); a page shows some of those elements and not others
// (a filtered table, a row scrolled out of the newest 50, a page that has no such table).
// htmx logs `htmx:oobErrorNoTarget` as a console error for each fragment with no target, so the
// ws extension's messages pass through this extension first, which drops what cannot land.
// Enabled on <body> with hx-ext="ws, live-landing".
(function () {
  "use strict";

  // The element a fragment swaps into, as htmx reads `hx-swap-oob`: "true" or a swap style
  // alone targets the fragment's own id; "style:selector" targets the selector.
  function targetSelector(fragment) {
    var oob = fragment.getAttribute("hx-swap-oob") || fragment.getAttribute("data-hx-swap-oob") || "true";
    var colon = oob.indexOf(":");
    if (colon > 0) return oob.substring(colon + 1);
    return fragment.id ? "#" + CSS.escape(fragment.id) : null;
  }

  function lands(fragment) {
    var selector = targetSelector(fragment);
    if (!selector) return false;
    try {
      return document.querySelector(selector) !== null;
    } catch (error) {
      return false; // a selector this browser cannot read lands nowhere
    }
  }

  function landing(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var dropped = 0;
    Array.prototype.slice.call(template.content.children).forEach(function (fragment) {
      if (!lands(fragment)) {
        fragment.remove();
        dropped += 1;
      }
    });
    return dropped ? template.innerHTML : html;
  }

  htmx.defineExtension("live-landing", {
    transformResponse: function (text, xhr, elt) {
      // Only the socket's messages: a normal response swaps into its own target.
      return xhr === null ? landing(text) : text;
    },
  });

  window.tradedeskLive = { landing: landing };
})();
