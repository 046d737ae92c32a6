// Draws the loss curves of a finetune job and follows it while it runs.
(function () {
  "use strict";
  var script = document.getElementById("job-script");
  var url = script.getAttribute("data-metrics-url");
  var data = JSON.parse(document.getElementById("job-data").textContent);

  function series(metrics, key) {
    var xs = [], ys = [];
    metrics.forEach(function (m) {
      if (typeof m[key] === "number") { xs.push(m.step); ys.push(m[key]); }
    });
    return { x: xs, y: ys };
  }

  function draw(payload) {
    var chart = document.getElementById("loss-chart");
    if (!window.Plotly || !payload.metrics.length) return;
    document.getElementById("loss-empty").hidden = true;
    var train = series(payload.metrics, "loss"), evals = series(payload.metrics, "eval_loss");
    window.Plotly.react(chart, [
      { x: train.x, y: train.y, mode: "lines", name: "train loss" },
      { x: evals.x, y: evals.y, mode: "lines+markers", name: "eval loss" }
    ], {
      margin: { t: 10, r: 10, b: 40, l: 50 },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" } }
    }, { responsive: true, displaylogo: false });
  }

  function update(payload) {
    document.getElementById("job-status").textContent = payload.status;
    var bar = document.getElementById("job-progress");
    bar.max = payload.total_steps || 1;
    bar.value = payload.step;
    document.getElementById("job-steps").textContent = payload.step + " / " + payload.total_steps;
    draw(payload);
  }

  function poll() {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (payload) {
        update(payload);
        if (payload.status === "queued" || payload.status === "running") setTimeout(poll, 3000);
        else if (payload.status !== data.status) window.location.reload();
      })
      .catch(function () { setTimeout(poll, 10000); });
  }

  window.addEventListener("load", function () {
    draw(data);
    if (data.status === "queued" || data.status === "running") setTimeout(poll, 3000);
  });
})();
