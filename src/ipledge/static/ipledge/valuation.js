/* Valuation charts: indicator contributions (bars by dimension) and the value range with each approach.
   Data from the json_script tag #valuation-chart rendered by the server. */
(function () {
  "use strict";
  var DIMENSION_COLOURS = { legal: "#1d4e89", technical: "#00a65a", economic: "#f39c12" };
  function init() {
    var node = document.getElementById("valuation-chart");
    if (!node || !window.echarts) return;
    var d = JSON.parse(node.textContent);
    var bars = document.getElementById("chart-contributions");
    if (bars) {
      var chart = window.echarts.init(bars);
      chart.setOption({
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: d.indicators },
        series: [{
          type: "bar", barMaxWidth: 18,
          data: d.points.map(function (v, i) {
            return { value: v, itemStyle: { color: DIMENSION_COLOURS[d.dimensions[i]] || "#3c8dbc" } };
          }),
          label: { show: true, position: "right", formatter: function (p) { return p.value.toFixed(1); } }
        }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    }
    var range = document.getElementById("chart-range");
    if (range) {
      var names = ["P10", "P50", "P90"];
      var rchart = window.echarts.init(range);
      var approachNames = d.labels.approaches;
      var points = [];
      d.approaches.forEach(function (v, i) { if (v !== null) points.push([v, approachNames[i]]); });
      rchart.setOption({
        grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
        tooltip: { trigger: "item" },
        xAxis: { type: d.range[0] > 0 ? "log" : "value", name: "¥", axisLabel: { formatter: function (v) { return d.labels.ten_thousand === "万" ? (v / 10000).toFixed(0) + "万" : (v / 1000).toFixed(0) + "k"; } } },
        yAxis: { type: "category", data: [d.labels.range].concat(approachNames) },
        series: [
          { type: "line", symbolSize: 10, data: d.range.map(function (v) { return [v, d.labels.range]; }),
            label: { show: true, formatter: function (p) { return names[p.dataIndex]; }, position: "top" },
            lineStyle: { width: 6, opacity: 0.4 } },
          { type: "scatter", symbolSize: 12, data: points }
        ]
      });
      window.addEventListener("resize", function () { rchart.resize(); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
