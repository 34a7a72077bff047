// Shared page behaviour (no inline scripts: the pages run under a strict CSP).
(function () {
  "use strict";
  document.querySelectorAll("[data-pct]").forEach(function (el) {
    var pct = Math.max(0, Math.min(100, parseFloat(el.getAttribute("data-pct")) || 0));
    el.style.width = pct.toFixed(1) + "%";
  });
  document.querySelectorAll("select.autosubmit").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
})();
