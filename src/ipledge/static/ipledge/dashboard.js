/* Dashboard charts. Data comes from the json_script tag #dashboard-data rendered by the server. */
(function () {
  "use strict";

  var PALETTE = ["#1d4e89", "#3c8dbc", "#00a65a", "#f39c12", "#dd4b39", "#605ca8", "#39cccc"];

  function readData() {
    var node = document.getElementById("dashboard-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function track(chart) {
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function barChart(node, series) {
    // Narrow containers get horizontal bars so long category names stay readable.
    var horizontal = node.dataset.orientation === "horizontal";
    var categoryAxis = { type: "category", data: series.labels, axisLabel: { interval: 0 }, inverse: horizontal };
    var valueAxis = { type: "value", minInterval: 1 };
    var chart = window.echarts.init(node);
    chart.setOption({
      color: PALETTE,
      grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? categoryAxis : valueAxis,
      series: [{ name: series.name, type: "bar", data: series.values, barMaxWidth: 48,
                 label: { show: true, position: horizontal ? "right" : "top" } }]
    });
    track(chart);
  }

  function pieChart(node, series) {
    var chart = window.echarts.init(node);
    chart.setOption({
      color: PALETTE,
      tooltip: { trigger: "item" },
      series: [{
        name: series.name, type: "pie", radius: ["45%", "75%"],
        label: { show: false },
        data: series.labels.map(function (label, i) { return { name: label, value: series.values[i] }; })
          .filter(function (d) { return d.value > 0; })
      }]
    });
    track(chart);
  }

  function chinaMap(node, series) {
    fetch(node.dataset.geoUrl).then(function (response) { return response.json(); }).then(function (geo) {
      window.echarts.registerMap("china", geo);
      var nameByCode = {};
      geo.features.forEach(function (f) { nameByCode[String(f.id)] = f.properties.name; });
      var data = series.data.map(function (d) { return { name: nameByCode[d.code] || d.code, value: d.value }; });
      var max = data.reduce(function (m, d) { return Math.max(m, d.value); }, 1);
      var chart = window.echarts.init(node);
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) {
          return p.name + "<br>" + series.name + ": " + (isNaN(p.value) ? 0 : p.value);
        } },
        visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true,
                     inRange: { color: ["#e8f0fa", "#9cc1e8", "#1d4e89"] } },
        series: [{ name: series.name, type: "map", map: "china", roam: false, data: data,
                   emphasis: { label: { show: true } }, itemStyle: { borderColor: "#9aa5b1" } }]
      });
      track(chart);
    });
  }

  function init() {
    var data = readData();
    if (!data || !window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (node) {
      var series = data[node.dataset.key];
      if (!series) return;
      var kind = node.dataset.chart;
      if (kind === "bar") barChart(node, series);
      else if (kind === "pie") pieChart(node, series);
      else if (kind === "china-map") chinaMap(node, series);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
