/* The inbox's filters on a phone: folded behind the "Filters" button (Bootstrap's
   collapse) unless some are in use or wrong. Without this script they simply stay
   open and the button stays hidden. Loaded right after the filters, so that they are
   folded before the page is first drawn. */
(function () {
  "use strict";
  var filters = document.getElementById("inbox-filters");
  var toggle = document.getElementById("filters-toggle");
  if (!filters || !toggle) {
    return;
  }
  toggle.hidden = false;
  var phone = window.matchMedia("(max-width: 767.98px)").matches;
  if (phone && !filters.hasAttribute("data-keep-open")) {
    filters.classList.remove("show");
    toggle.setAttribute("aria-expanded", "false");
    toggle.classList.add("collapsed");
  }
})();
