/* Indicator charts; data from the json_script tag #indicator-charts rendered by the server. */
(function () {
  "use strict";
  var PALETTE = ["#1d4e89", "#3c8dbc", "#00a65a", "#f39c12", "#dd4b39", "#605ca8", "#39cccc"];
  function init() {
    var node = document.getElementById("indicator-charts");
    if (!node || !window.echarts) return;
    var d = JSON.parse(node.textContent), L = d.labels;
    function draw(id, option) {
      var el = document.getElementById(id);
      if (!el) return;
      var chart = window.echarts.init(el);
      option.color = PALETTE;
      option.grid = option.grid || { left: 8, right: 16, top: 40, bottom: 8, containLabel: true };
      option.tooltip = option.tooltip || { trigger: "axis" };
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    }
    function cat(labels) { return { type: "category", data: labels }; }
    draw("chart-new", {
      legend: { top: 0 }, xAxis: cat(d.buckets),
      yAxis: [{ type: "value", name: L.new_amount }, { type: "value", name: L.new_loans, minInterval: 1 }],
      series: [{ name: L.new_amount, type: "bar", data: d.new_amount, barMaxWidth: 36 },
               { name: L.new_loans, type: "line", yAxisIndex: 1, data: d.new_loans }]
    });
    draw("chart-balance", {
      legend: { top: 0 }, xAxis: cat(d.buckets),
      yAxis: [{ type: "value", name: L.balance }, { type: "value", name: L.npl_ratio }],
      series: [{ name: L.balance, type: "line", areaStyle: { opacity: 0.15 }, data: d.balance },
               { name: L.npl_ratio, type: "line", yAxisIndex: 1, data: d.npl_ratio }]
    });
    draw("chart-npl", {
      legend: { top: 0 }, xAxis: cat(d.npl_banks), yAxis: { type: "value", name: "%" },
      series: [{ name: L.npl_ip, type: "bar", data: d.npl_ip, barMaxWidth: 36 },
               { name: L.npl_bank, type: "bar", data: d.npl_bank, barMaxWidth: 36 },
               { name: L.npl_limit, type: "line", step: "middle", symbol: "none",
                 lineStyle: { type: "dashed", color: "#dd4b39" }, data: d.npl_limit }]
    });
    draw("chart-puhui", {
      legend: { top: 0 }, xAxis: cat(d.buckets), yAxis: { type: "value", max: 100, name: "%" },
      series: [{ name: L.puhui_amount, type: "line", data: d.puhui_amount },
               { name: L.puhui_loans, type: "line", data: d.puhui_loans }]
    });
    draw("chart-t2", {
      xAxis: cat(d.t2_labels), yAxis: { type: "value", minInterval: 1 },
      series: [{ name: L.t2, type: "bar", data: d.t2_values, barMaxWidth: 48, label: { show: true, position: "top" } }]
    });
    draw("chart-t3", {
      xAxis: cat(d.t3_days), yAxis: { type: "value", max: 100, name: "%" },
      series: [{ name: L.t3, type: "line", data: d.t3_rate, label: { show: true } }]
    });
    draw("chart-registration", {
      legend: { top: 0 }, xAxis: cat(d.buckets),
      yAxis: [{ type: "value", name: L.registered_amount }, { type: "value", name: L.projects, minInterval: 1 }],
      series: [{ name: L.registered_amount, type: "bar", data: d.registered_amount, barMaxWidth: 36 },
               { name: L.projects, type: "line", yAxisIndex: 1, data: d.projects }]
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
