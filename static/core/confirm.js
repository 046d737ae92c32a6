// Asks before a step that is hard to take back. A form's submit button (or the form itself) carries
// data-confirm="the question"; Cancel stops the submission. A static file, not an inline handler:
// the site's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    const question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
