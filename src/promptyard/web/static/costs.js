// The cost dashboard's charts, drawn with the vendored Chart.js from the JSON the server embedded.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var palette = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316",
                 "#64748b", "#ec4899", "#84cc16", "#06b6d4"];
  var money = function (v) {
    return "$" + (Math.abs(v) > 0 && Math.abs(v) < 0.01 ? v.toFixed(4) : v.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2}));
  };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6b7385";
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.maintainAspectRatio = false;
  var tooltipMoney = {callbacks: {label: function (ctx) {
    var v = ctx.parsed.y !== undefined && ctx.chart.config.type !== "doughnut" ? (ctx.chart.options.indexAxis === "y" ? ctx.parsed.x : ctx.parsed.y) : ctx.parsed;
    return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + money(v);
  }}};

  // Daily spend, with the budget as a dashed line.
  var days = data.daily.map(function (d) { return d.day.slice(5); });
  var datasets = [{
    label: "Spend", data: data.daily.map(function (d) { return d.cost_usd; }), borderColor: "#4f46e5",
    backgroundColor: "rgba(79, 70, 229, .12)", fill: true, cubicInterpolationMode: "monotone", pointRadius: 2.5, borderWidth: 2
  }];
  if (data.budget.daily_budget_usd) {
    datasets.push({label: "Daily budget", data: data.daily.map(function () { return data.budget.daily_budget_usd; }),
      borderColor: "#ef4444", borderDash: [6, 5], borderWidth: 1.5, pointRadius: 0, fill: false});
  }
  new Chart(document.getElementById("daily-chart"), {
    type: "line", data: {labels: days, datasets: datasets},
    options: {interaction: {mode: "index", intersect: false}, plugins: {tooltip: tooltipMoney},
      scales: {y: {beginAtZero: true, ticks: {callback: function (v) { return money(v); }}}, x: {grid: {display: false}}}}
  });

  function split(id, rows, type) {
    var labels = rows.map(function (r) { return r.key; });
    var values = rows.map(function (r) { return r.cost_usd; });
    var el = document.getElementById(id);
    if (!rows.length) { el.parentNode.innerHTML = '<p class="muted">No spend in this window.</p>'; return; }
    var horizontal = type === "bar";
    new Chart(el, {
      type: type,
      data: {labels: labels, datasets: [{label: "Spend", data: values, borderWidth: horizontal ? 0 : 2,
        backgroundColor: horizontal ? labels.map(function (_, i) { return palette[i % palette.length]; }) : palette,
        borderRadius: horizontal ? 4 : 0}]},
      options: type === "doughnut"
        ? {cutout: "62%", plugins: {legend: {position: "right"}, tooltip: tooltipMoney}}
        : {indexAxis: "y", plugins: {legend: {display: false}, tooltip: tooltipMoney},
           scales: {x: {beginAtZero: true, ticks: {callback: function (v) { return money(v); }}}, y: {grid: {display: false}}}}
    });
  }
  split("model-chart", data.by_model, "doughnut");
  split("prompt-chart", data.by_prompt, "bar");
  split("transform-chart", data.by_transform, "bar");

  new Chart(document.getElementById("cache-chart"), {
    type: "bar",
    data: {labels: ["Answer cache", "Prompt cache"], datasets: [
      {label: "Hit rate", data: [data.answer_cache.hit_rate * 100, data.prompt_cache.hit_rate * 100],
       backgroundColor: ["#0ea5e9", "#10b981"], borderRadius: 4}]},
    options: {indexAxis: "y", plugins: {legend: {display: false}, tooltip: {callbacks: {label: function (ctx) {
      var c = ctx.dataIndex === 0 ? data.answer_cache : data.prompt_cache;
      return ctx.parsed.x.toFixed(1) + "% · saved " + money(c.saved_usd);
    }}}}, scales: {x: {min: 0, max: 100, ticks: {callback: function (v) { return v + "%"; }}}, y: {grid: {display: false}}}}
  });
  document.body.setAttribute("data-charts-ready", "1");
})();
