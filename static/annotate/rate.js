// The rating page: fetches items as JSON (HTML fragments rendered safely on the server), takes
// choices by button or key, and measures the time the item was visible and not paused.
// Only the documented keys act (1-4, arrows, S, U, P, G): Enter and Space never press a focused
// button, Space scrolls, and a choice made before the campaign's minimum reading time is refused.
// In the comment box every key is text; Esc leaves the box.
(function () {
  "use strict";
  const root = document.getElementById("rater");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const undoSeconds = Number(root.dataset.undoSeconds || 60);
  const minSeconds = Number(root.dataset.minSeconds || 0);
  const els = {
    item: $("item"), prompt: $("prompt"), left: $("left"), right: $("right"), comment: $("comment"),
    history: $("history"), rated: $("rated-prompt"), promptLabel: $("prompt-label"),
    bar: $("progress-bar"), text: $("progress-text"), status: $("status"), done: $("done"),
    paused: $("paused"), undo: $("undo"), skip: $("skip"), pause: $("pause"), resume: $("resume"),
    guidelines: $("guidelines"),
  };
  let onlySkipped = false;
  let token = null;
  let freshConversation = false; // a new later-turn item, to be scrolled to its rated turn
  let busy = false;
  let paused = false;
  let shownAt = 0; // performance.now() when the clock last started
  let spent = 0; // seconds counted before the clock last stopped
  let undoTimer = null;

  function clockStart() { shownAt = performance.now(); }
  function clockStop() {
    if (shownAt) spent += (performance.now() - shownAt) / 1000;
    shownAt = 0;
  }
  function seconds() { return spent + (shownAt ? (performance.now() - shownAt) / 1000 : 0); }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) {
      const error = new Error(data.error || ("the server answered " + response.status));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function setUndo(available) {
    els.undo.disabled = !available;
    if (undoTimer) clearTimeout(undoTimer);
    if (available) undoTimer = setTimeout(() => { els.undo.disabled = true; }, undoSeconds * 1000);
  }

  function show(state) {
    // A recruited participant's session is over: their end page has the code.
    if (state.finish_url) window.location.assign(state.finish_url);
    const p = state.progress;
    if (p) {
      els.bar.value = p.percent;
      els.text.textContent = p.done + " rated, " + p.remaining + " left";
      els.text.dataset.done = p.done;
      onlySkipped = !!p.only_skipped;
    }
    if ("undo" in state) setUndo(state.undo);
    const item = state.item;
    if (!item) {
      token = null;
      els.item.hidden = true;
      els.done.hidden = false;
      els.skip.disabled = true;
      els.pause.disabled = true;
      root.querySelectorAll("button.choice").forEach((b) => { b.disabled = true; });
      root.classList.add("done");
      return;
    }
    root.classList.remove("done");
    root.querySelectorAll("button.choice").forEach((b) => { b.disabled = false; });
    els.done.hidden = true;
    els.skip.disabled = false;
    els.pause.disabled = false;
    if (item.token !== token) {
      token = item.token;
      // Server-rendered, escaped Markdown: the only HTML in it is what markdown-it produced.
      els.prompt.innerHTML = item.prompt_html;
      els.left.innerHTML = item.left_html;
      els.right.innerHTML = item.right_html;
      const history = item.history || [];
      showHistory(history);
      els.promptLabel.textContent = history.length ? "Turn " + item.turn + ": the turn you rate" : "Prompt";
      root.classList.toggle("conversation", history.length > 0);
      els.comment.value = "";
      spent = 0;
      clockStart();
      window.scrollTo(0, 0);
      freshConversation = history.length > 0;
      // The mouse still rests on the button just clicked: until it moves, that button's hover
      // style would make the new item look pre-chosen.
      root.classList.add("pointer-still");
      window.addEventListener("mousemove", () => root.classList.remove("pointer-still"), { once: true });
    }
    els.item.hidden = paused;
    // The rated turn opens the screen (once the item is shown); the earlier turns are above it.
    if (freshConversation && !paused) {
      freshConversation = false;
      els.rated.scrollIntoView({ block: "start" });
    }
  }

  // Earlier turns of a conversation: the user's message once, then the two answers on the same
  // sides as the rated turn. Each turn is cut to a few lines until its button expands it. The HTML
  // pieces are server-rendered, escaped Markdown, like the rated turn's.
  function showHistory(history) {
    els.history.replaceChildren();
    els.history.hidden = history.length === 0;
    history.forEach((t, i) => {
      const box = document.createElement("section");
      box.className = "card earlier-turn collapsed";
      box.setAttribute("aria-label", "Earlier turn " + (i + 1));
      const head = document.createElement("h2");
      head.className = "label";
      head.textContent = "Turn " + (i + 1) + " (earlier)";
      const user = document.createElement("div");
      user.className = "md user-turn";
      user.innerHTML = t.user_html;
      const pair = document.createElement("div");
      pair.className = "responses";
      [["Left", "First", t.left_html], ["Right", "Second", t.right_html]].forEach(([wide, narrow, html]) => {
        const col = document.createElement("div");
        col.className = "response earlier";
        const label = document.createElement("h3");
        label.className = "label";
        label.innerHTML = '<span class="wide">' + wide + '</span><span class="narrow">' + narrow + "</span> response";
        const body = document.createElement("div");
        body.className = "md answer";
        body.innerHTML = html;
        col.append(label, body);
        pair.append(col);
      });
      const more = document.createElement("button");
      more.type = "button";
      more.className = "expand";
      more.textContent = "Show the whole turn";
      more.setAttribute("aria-expanded", "false");
      more.addEventListener("click", () => {
        const open = box.classList.toggle("collapsed") === false;
        more.textContent = open ? "Cut it short again" : "Show the whole turn";
        more.setAttribute("aria-expanded", String(open));
      });
      box.append(head, user, pair, more);
      els.history.append(box);
    });
  }

  async function run(url, body, message) {
    if (busy) return;
    busy = true;
    root.classList.add("busy");
    try {
      const state = await post(url, body);
      show(state);
      let text = message || "";
      if (state.item && onlySkipped) text += (text ? " " : "") + "Only items you skipped are left: this is the one you skipped longest ago.";
      els.status.textContent = text;
    } catch (e) {
      // The task is gone (the campaign closed mid-session): a recruited participant goes to their end page.
      if (e.status === 404 && root.dataset.finishUrl) { window.location.assign(root.dataset.finishUrl); return; }
      els.status.textContent = "Could not do that: " + e.message;
      if (/ran out|not served|unknown item/.test(e.message)) {
        token = null;
        await loadNext();
      }
    } finally {
      busy = false;
      root.classList.remove("busy");
    }
  }

  function loadNext() { return run(root.dataset.nextUrl, {}); }

  function choose(side) {
    if (!token || paused || busy) return;
    const read = seconds();
    if (read < minSeconds) {
      els.status.textContent = "Not taken: please read both responses first (a choice counts after " +
        minSeconds + " s on an item; " + read.toFixed(1) + " s so far).";
      return;
    }
    clockStop();
    run(root.dataset.submitUrl, {
      token: token, side: side, comment: els.comment.value, seconds: seconds(), next: true,
    }, "Saved.");
  }

  function undo() {
    if (els.undo.disabled || paused) return;
    token = null; // the undone item comes back, shown afresh
    run(root.dataset.undoUrl, {}, "Last rating undone: rate it again.");
  }

  function skip() {
    if (!token || paused) return;
    const skipped = token;
    token = null;
    run(root.dataset.skipUrl, { token: skipped }, "Skipped.");
  }

  function pause() {
    if (paused || !token) return;
    paused = true;
    clockStop();
    els.item.hidden = true;
    els.paused.hidden = false;
    els.resume.focus();
  }

  function resume() {
    if (!paused) return;
    paused = false;
    els.paused.hidden = true;
    const before = token;
    // The lease may have run out while paused: ask again. The same item comes back if it is still
    // ours (and keeps the time already spent on it); otherwise a fresh item starts its own clock.
    run(root.dataset.nextUrl, {}).then(() => {
      if (token && token === before && !shownAt) clockStart();
    });
  }

  function toggleGuidelines() { els.guidelines.open = !els.guidelines.open; }

  // A click made by a key on a focused button (event.detail is 0) is not a pointer click: it
  // must not rate or skip. Pressing with the pointer never leaves focus on a button either.
  const pointerOnly = (fn) => (event) => { if (event.detail !== 0) fn(); };
  root.querySelectorAll("button").forEach((button) => {
    button.addEventListener("mousedown", (event) => event.preventDefault());
  });
  root.querySelectorAll("button.choice").forEach((button) => {
    button.addEventListener("click", pointerOnly(() => choose(button.dataset.side)));
  });
  els.undo.addEventListener("click", undo);
  els.skip.addEventListener("click", pointerOnly(skip));
  els.pause.addEventListener("click", pause);
  els.resume.addEventListener("click", resume);

  const keys = { "1": "left", ArrowLeft: "left", "2": "right", ArrowRight: "right", "3": "tie", "4": "both_bad" };
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) {
      // Keys typed into the comment are text ("1" never chooses); Esc leaves it, so that the
      // keys choose again without reaching for the mouse.
      if (event.key === "Escape") { event.preventDefault(); target.blur(); }
      return;
    }
    if (target && target.tagName === "BUTTON" && root.contains(target) && (event.key === "Enter" || event.key === " ")) {
      // A focused button would take these as a press: Enter does nothing, Space still scrolls.
      event.preventDefault();
      if (event.key === " ") window.scrollBy({ top: (event.shiftKey ? -0.8 : 0.8) * window.innerHeight });
      return;
    }
    if (target && target.tagName === "SUMMARY" && event.key === "Enter") return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (keys[key]) { event.preventDefault(); choose(keys[key]); }
    else if (key === "s") { skip(); }
    else if (key === "u") { undo(); }
    else if (key === "p") { paused ? resume() : pause(); }
    else if (key === "g") { toggleGuidelines(); }
  }, true);
  document.addEventListener("visibilitychange", () => {
    if (paused || !token) return;
    if (document.hidden) clockStop(); else clockStart();
  });

  loadNext();
})();
