// Draws every figure of the page: a [data-plot] container followed by its JSON block (core/plots.py).
// Loaded with `defer` after plotly.js, so Plotly exists by the time this runs.
(function () {
  "use strict";

  function draw() {
    document.querySelectorAll("script[data-plot-figure]").forEach(function (block) {
      var container = block.previousElementSibling;
      if (!container || !container.hasAttribute("data-plot")) return;
      var payload = JSON.parse(block.textContent);
      var figure = payload.figure;
      window.Plotly.newPlot(container, figure.data, figure.layout || {}, payload.config || {});
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
