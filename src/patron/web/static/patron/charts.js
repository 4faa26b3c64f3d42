// Renders every element with data-echarts="<id>": the id names a <script type="application/json">
// (Django's json_script: data, not script, so the Content-Security-Policy lets it be) holding a
// complete ECharts option built on the server (labels already translated).
// An option may carry "patronLinks": {"<series index>": ["url for data index 0", ...]} so a click on
// a bar or cell opens the customers behind it.
(function () {
  function render(el) {
    var source = document.getElementById(el.dataset.echarts);
    if (!source || !window.echarts) return;
    var option = JSON.parse(source.textContent);
    var links = option.patronLinks; delete option.patronLinks;
    // ECharts writes HTML tooltips with style="" attributes, which the Content-Security-Policy
    // refuses; drawn as rich text inside the chart they need none.
    [].concat(option.tooltip || []).forEach(function (t) { t.renderMode = "richText"; });
    // Whoever asked the system for less motion gets the chart drawn at once, not grown into place.
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      option.animation = false;
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    if (links) {
      chart.on("click", function (p) {
        var list = links[String(p.seriesIndex)];
        var url = list && list[p.dataIndex];
        if (url) window.location.href = url;
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function all(root) { (root || document).querySelectorAll("[data-echarts]").forEach(render); }
  document.addEventListener("DOMContentLoaded", function () { all(); });
  document.addEventListener("htmx:afterSwap", function (e) { all(e.target); });
})();
