/* The campaign editor, enhanced: the page works without this script (every checkbox
   posts, the server names every error); with it, the buyer also gets
   - focus on the error summary after a failed submit,
   - a filter box over the long lists (sectors, departments),
   - the highest floor price of the ticked sectors, and a warning while the price is
     below it, as soon as a box is ticked,
   - a box per region that ticks all its departments, and the count of those chosen.
   The words come from the page (data-text-* attributes), translated there. */
(function () {
  "use strict";

  function fold(text) {
    // "Rhône" matches "rhone": accents and case do not count.
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function fill(template, name, value) {
    return template.split("{" + name + "}").join(value);
  }

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  function setUpFilter(list) {
    var box = list.querySelector(".js-filter");
    if (!box) {
      return;
    }
    var input = box.querySelector("[data-filter-input]");
    var nothing = box.querySelector("[data-filter-empty]");
    var groups = Array.prototype.slice.call(list.querySelectorAll("[data-filter-group]"));
    box.hidden = false;
    input.addEventListener("input", function () {
      var query = fold(input.value);
      var shown = 0;
      groups.forEach(function (group) {
        var details = group.querySelector("details");
        var visible = 0;
        group.querySelectorAll("[data-filter-item]").forEach(function (item) {
          var checkbox = item.querySelector("input");
          // A sector's parent and a department's region match too.
          var words = fold(item.textContent + " " + (checkbox.dataset.group || ""));
          var match = !query || words.indexOf(query) !== -1;
          item.hidden = !match;
          if (match && !item.hasAttribute("data-region-all")) {
            visible += 1;
          }
        });
        group.hidden = visible === 0;
        if (details) {
          // While filtering, open the regions that match; after, those with a choice.
          details.open = query ? visible > 0 : details.querySelector("input:checked") !== null;
        }
        shown += visible;
      });
      nothing.hidden = shown > 0;
    });
  }

  function setUpFloor() {
    var sectors = document.getElementById("sector_ids-fieldset");
    var note = document.getElementById("sector-floor");
    var price = document.getElementById("price");
    var warning = document.getElementById("price-floor");
    if (!sectors || !note) {
      return;
    }
    var boxes = Array.prototype.slice.call(sectors.querySelectorAll("input[name=sector_ids]"));

    function highest() {
      var best = null;
      boxes.forEach(function (box) {
        if (box.checked && (!best || Number(box.dataset.floor) > Number(best.dataset.floor))) {
          best = box;
        }
      });
      return best;
    }

    function checkPrice() {
      if (!price || !warning || price.readOnly) {
        return;
      }
      var best = highest();
      var typed = price.value.replace(",", ".").trim();
      var cents = typed === "" ? NaN : Math.round(parseFloat(typed) * 100);
      var below = best && !isNaN(cents) && cents < Number(best.dataset.floor);
      warning.textContent = below
        ? fill(warning.dataset.textBelow, "price", best.dataset.floorText)
        : "";
    }

    function update() {
      var best = highest();
      note.textContent = best
        ? fill(sectors.dataset.textFloor, "price", best.dataset.floorText)
        : sectors.dataset.textNone;
      checkPrice();
    }

    boxes.forEach(function (box) {
      box.addEventListener("change", update);
    });
    if (price) {
      price.addEventListener("input", checkPrice);
    }
  }

  function setUpRegions() {
    var list = document.getElementById("departments-fieldset");
    if (!list) {
      return;
    }
    var chosen = document.getElementById("departments-chosen");
    var boxes = Array.prototype.slice.call(list.querySelectorAll("input[name=departments]"));

    function describe() {
      var names = boxes
        .filter(function (box) { return box.checked; })
        .map(function (box) { return box.labels[0].textContent.trim(); });
      chosen.textContent = names.length
        ? fill(list.dataset.textChosen, "list", names.join(", "))
        : list.dataset.textNone;
    }

    list.querySelectorAll("details").forEach(function (details, index) {
      var group = details.querySelector("[role=group]");
      var own = Array.prototype.slice.call(group.querySelectorAll("input[name=departments]"));
      var badge = details.querySelector("[data-count]");
      var number = details.querySelector("[data-count-number]");
      var region = group.getAttribute("aria-label");

      // A box that ticks the whole region; it posts nothing (no name).
      var wrapper = document.createElement("div");
      wrapper.className = "form-check fw-semibold";
      wrapper.setAttribute("data-filter-item", "");
      wrapper.setAttribute("data-region-all", "");
      var all = document.createElement("input");
      all.type = "checkbox";
      all.className = "form-check-input";
      all.id = "region-all-" + index;
      var label = document.createElement("label");
      label.className = "form-check-label";
      label.htmlFor = all.id;
      label.textContent = fill(list.dataset.textAll, "region", region);
      wrapper.appendChild(all);
      wrapper.appendChild(label);
      group.insertBefore(wrapper, group.firstChild);

      function count() {
        var ticked = own.filter(function (box) { return box.checked; }).length;
        all.checked = ticked === own.length;
        all.indeterminate = ticked > 0 && ticked < own.length;
        number.textContent = String(ticked);
        badge.hidden = ticked === 0;
      }

      all.addEventListener("change", function () {
        own.forEach(function (box) { box.checked = all.checked; });
        count();
        describe();
      });
      own.forEach(function (box) {
        box.addEventListener("change", function () {
          count();
          describe();
        });
      });
      count();
    });
  }

  focusErrorSummary();
  setUpRegions();
  document.querySelectorAll("[data-filter]").forEach(setUpFilter);
  setUpFloor();
})();
