// Live progress: every element with data-status-url and data-active="1" polls its job's JSON status.
(function () {
  "use strict";
  var PERIOD_MS = 3000;

  function update(el, data) {
    var status = el.querySelector('[data-field="status"]');
    if (status) { status.textContent = data.status; status.className = "badge " + data.status; }
    var bar = el.querySelector('[data-field="progress"]');
    if (bar) { bar.max = data.prompts_total; bar.value = data.prompts_done; }
    var count = el.querySelector('[data-field="count"]');
    if (count) { count.textContent = data.prompts_done + " / " + data.prompts_total; }
    // A page-wide line the server words (a campaign's "Building: 430,000 of 1,000,000 comparisons").
    var line = document.querySelector('[data-field="line"]');
    if (line && data.line) { line.textContent = data.line; }
    var rate = el.querySelector('[data-field="rate"]');
    if (rate) { rate.textContent = data.tokens_per_second === null ? "—" : Math.round(data.tokens_per_second); }
  }

  function poll(el) {
    fetch(el.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        update(el, data);
        if (data.status === "queued" || data.status === "running") {
          setTimeout(function () { poll(el); }, PERIOD_MS);
        } else if (el.dataset.reloadWhenDone === "1") {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(function () { poll(el); }, PERIOD_MS * 3); });
  }

  document.querySelectorAll('[data-status-url][data-active="1"]').forEach(function (el) {
    setTimeout(function () { poll(el); }, PERIOD_MS);
  });
})();
