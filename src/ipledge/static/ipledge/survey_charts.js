/* Survey results charts: one bar chart per choice / yes-no / rating question and a histogram per number or money
   question. Data from the json_script tag #survey-charts rendered by the server: [{id, type, labels, values,
   horizontal}]; each entry is drawn into the element with that id. */
(function () {
  "use strict";
  function draw(spec) {
    var node = document.getElementById(spec.id);
    if (!node) return;
    var chart = window.echarts.init(node);
    var horizontal = !!spec.horizontal;
    var category = {
      type: "category", data: spec.labels, inverse: horizontal,
      axisLabel: { interval: 0, width: 160, overflow: "truncate" }
    };
    var value = { type: "value", minInterval: 1 };
    chart.setOption({
      grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: [{
        type: "bar",
        data: spec.values,
        barMaxWidth: 36,
        barCategoryGap: spec.type === "histogram" ? "4%" : "30%",
        itemStyle: { color: spec.type === "histogram" ? "#00a65a" : "#1d4e89" },
        label: { show: true, position: horizontal ? "right" : "top" }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function init() {
    var node = document.getElementById("survey-charts");
    if (!node || !window.echarts) return;
    JSON.parse(node.textContent).forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
