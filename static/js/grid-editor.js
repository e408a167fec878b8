// The strategy page's DCA grid: Add leg / Remove leg without a save round trip.
// The rows stay a plain Django formset: a removed row leaves the DOM and the rows after it are
// renumbered, so legs-0 … legs-(N-1) and TOTAL_FORMS always match what is shown and the server's
// formset remains the one judge of the grid. Each change fires `grid-changed`, which the page's
// htmx preview listens for. Without JavaScript the spare rows the server renders serve instead
// (with it, the trailing blank ones are dropped: Add leg replaces them).
(function () {
  "use strict";
  var table = document.getElementById("grid-legs");
  var template = document.getElementById("leg-row-template");
  if (!table || !template) return;
  var prefix = table.dataset.prefix;
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var maximum = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
  var addButton = document.querySelector("[data-grid-add]");
  var body = table.tBodies[0];
  // With no legs left the table would be headers over nothing: say what that means instead.
  var empty = document.getElementById("grid-empty");
  var scroller = table.closest(".table-scroll") || table;
  // `legs-3-` and the empty form's `legs-__prefix__-` alike.
  var indexed = new RegExp("^(id_)?" + prefix + "-(\\d+|__prefix__)-");

  function renumber() {
    Array.prototype.forEach.call(body.rows, function (row, index) {
      row.id = "leg-row-" + index;
      var number = row.querySelector(".leg-number");
      if (number) number.textContent = String(index + 1); // legs count from 1, as everywhere
      row.querySelectorAll("input, select, textarea, label").forEach(function (field) {
        ["name", "id", "for"].forEach(function (attribute) {
          var value = field.getAttribute(attribute);
          if (value && indexed.test(value)) {
            field.setAttribute(attribute, value.replace(indexed, "$1" + prefix + "-" + index + "-"));
          }
        });
      });
    });
    total.value = String(body.rows.length);
    if (empty) {
      empty.hidden = body.rows.length > 0;
      scroller.hidden = body.rows.length === 0;
    }
    if (addButton && maximum && maximum.value) {
      addButton.disabled = body.rows.length >= Number(maximum.value);
    }
  }

  function changed() {
    table.dispatchEvent(new CustomEvent("grid-changed", { bubbles: true }));
  }

  function addLeg() {
    var row = template.content.firstElementChild.cloneNode(true);
    body.appendChild(row);
    renumber();
    var first = row.querySelector("input");
    if (first) first.focus();
    changed();
  }

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-grid-remove]");
    if (remove && table.contains(remove)) {
      remove.closest("tr").remove();
      renumber();
      changed();
    } else if (event.target.closest("[data-grid-add]")) {
      addLeg();
    }
  });

  // With Add leg at hand the server's spare blank rows at the end are only clutter.
  function blank(row) {
    return Array.prototype.every.call(row.querySelectorAll("input"), function (input) {
      return !input.value.trim();
    });
  }
  while (body.rows.length && blank(body.rows[body.rows.length - 1])) {
    body.rows[body.rows.length - 1].remove();
  }
  document.querySelectorAll("[data-grid-add], [data-grid-remove]").forEach(function (button) {
    button.hidden = false;
  });
  renumber();
})();
