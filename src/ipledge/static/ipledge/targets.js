/* Targets dashboard (百园万企): China map by province, trend and size charts. Data comes from the json_script tag
   #targets-data rendered by the server; the map's province names come from the vendored china.json by code. */
(function () {
  "use strict";

  var PALETTE = ["#1d4e89", "#00a65a", "#f39c12", "#dd4b39", "#605ca8", "#39cccc"];

  function readData() {
    var node = document.getElementById("targets-data");
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

  function provinceMap(node, map) {
    fetch(node.dataset.geoUrl).then(function (response) { return response.json(); }).then(function (geo) {
      window.echarts.registerMap("china", geo);
      var nameByCode = {};
      geo.features.forEach(function (f) { nameByCode[String(f.id)] = f.properties.name; });
      var extra = {};
      var data = map.data.map(function (d) {
        var name = nameByCode[d.code] || d.code;
        extra[name] = d;
        return { name: name, value: d.value };
      });
      var max = data.reduce(function (m, d) { return Math.max(m, d.value); }, 1);
      var chart = window.echarts.init(node);
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) {
          var d = extra[p.name];
          if (!d) return p.name;
          return p.name + "<br>" + map.name + ": " + d.value +
            "<br>" + map.labels.parks + ": " + d.parks +
            "<br>" + map.labels.reaching + ": " + d.reaching +
            "<br>" + map.labels.new_smes + ": " + d.new_smes;
        } },
        visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true,
                     inRange: { color: ["#e8f0fa", "#9cc1e8", "#1d4e89"] } },
        series: [{ name: map.name, type: "map", map: "china", roam: false, data: data,
                   emphasis: { label: { show: true } }, itemStyle: { borderColor: "#9aa5b1" } }]
      });
      track(chart);
    });
  }

  function twoAxes(node, years, left, right) {
    var chart = window.echarts.init(node);
    chart.setOption({
      color: PALETTE,
      grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: years },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", splitLine: { show: false } }],
      series: [
        { name: left.name, type: "bar", data: left.values, barMaxWidth: 40 },
        { name: right.name, type: right.type || "line", yAxisIndex: 1, data: right.values, barMaxWidth: 40 }
      ]
    });
    track(chart);
  }

  function sizes(node, series) {
    var chart = window.echarts.init(node);
    chart.setOption({
      color: PALETTE,
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{
        name: series.name, type: "pie", radius: ["40%", "70%"],
        label: { show: true, formatter: "{b}: {c}" },
        data: series.labels.map(function (label, i) { return { name: label, value: series.values[i] }; })
      }]
    });
    track(chart);
  }

  function init() {
    var data = readData();
    if (!data || !window.echarts) return;
    var node = document.getElementById("targets-map");
    if (node) provinceMap(node, data.map);
    var trend = data.trend;
    node = document.getElementById("targets-trend");
    if (node) {
      twoAxes(node, trend.years, { name: trend.labels.projects, values: trend.projects },
              { name: trend.labels.amount, values: trend.amount_wan });
    }
    node = document.getElementById("targets-goals");
    if (node) {
      twoAxes(node, trend.years, { name: trend.labels.parks_reaching, values: trend.parks_reaching },
              { name: trend.labels.new_smes, values: trend.new_smes });
    }
    node = document.getElementById("targets-sizes");
    if (node) sizes(node, data.sizes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
