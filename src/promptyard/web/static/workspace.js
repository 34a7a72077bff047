// The prompt editor: lint as you type through POST /admin/prompts/lint (text only, no HTML built).
(function () {
  "use strict";
  var text = document.getElementById("draft-text");
  var status = document.getElementById("lint-status");
  var list = document.getElementById("lint-issues");
  if (!text || !status || !list) return;
  var timer = null;
  var seq = 0;

  function show(issues) {
    while (list.firstChild) list.removeChild(list.firstChild);
    issues.forEach(function (issue) {
      var li = document.createElement("li");
      li.className = "lint-" + issue.severity;
      li.setAttribute("data-code", issue.code);
      li.textContent = (issue.line ? "line " + issue.line + ": " : "") + issue.severity + " " + issue.code + ": " + issue.message;
      list.appendChild(li);
    });
    var errors = issues.filter(function (i) { return i.severity === "error"; }).length;
    status.textContent = issues.length
      ? errors + " error(s), " + (issues.length - errors) + " warning(s)"
      : "No lint issues.";
    document.body.setAttribute("data-lint", String(issues.length));
  }

  function lint() {
    var mine = ++seq;
    fetch("/admin/prompts/lint", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text.value })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (mine === seq && body.issues) show(body.issues);
    }).catch(function () { status.textContent = "Lint is unavailable right now."; });
  }

  text.addEventListener("input", function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(lint, 250);
  });
  lint();
})();
