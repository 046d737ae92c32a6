// The practice page takes the rating page's keys (static/annotate/rate.js): 1 or ArrowLeft left,
// 2 or ArrowRight right, 3 tie, 4 both bad. A key presses the matching answer button once.
(function () {
  "use strict";
  const form = document.getElementById("practice-choices");
  if (!form) return;
  const keys = { "1": "left", ArrowLeft: "left", "2": "right", ArrowRight: "right", "3": "tie", "4": "both_bad" };
  let sent = false;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || sent) return;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT")) return;
    const side = keys[event.key];
    if (!side) return;
    const button = form.querySelector('button[data-side="' + side + '"]');
    if (!button) return;
    event.preventDefault();
    sent = true; // one answer per page: a held key must not send it twice
    form.requestSubmit(button);
  });
})();
