// The review form: level cards, number keys, autosaved drafts and an unsaved-change guard.
// Drafts go to the server as the form would post them, so a reload or a second tab finds them.
(function () {
  "use strict";
  var AUTOSAVE_MS = 600;
  var form = document.getElementById("review-form");
  var nav = document.getElementById("review-nav");
  if (!form || !nav) { return; }
  var status = document.getElementById("draft-status");
  var criteria = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-criterion]"));
  var timer = null;
  var pending = null; // the draft request in flight
  var dirty = false; // changed since the last draft the server confirmed
  var submitting = false;
  var lastField = null; // where a bank comment goes

  function typing(target) {
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function say(text) { if (status) { status.textContent = text; } }

  function saveDraft() {
    window.clearTimeout(timer);
    timer = null;
    var body = new FormData(form);
    body.delete("action");
    pending = fetch(form.dataset.draftUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value}
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      dirty = false;
      say("Draft saved at " + new Date(data.saved_at).toLocaleTimeString() + ".");
    }).catch(function () {
      say("The draft could not be saved; keep this page open and press Save.");
    }).then(function () { pending = null; });
    return pending;
  }

  function changed() {
    dirty = true;
    say("Unsaved changes…");
    window.clearTimeout(timer);
    timer = window.setTimeout(saveDraft, AUTOSAVE_MS);
    markLevels();
  }

  function markLevels() {
    form.querySelectorAll(".level-card").forEach(function (card) {
      var input = document.getElementById(card.dataset.target);
      var pressed = input && input.value !== "" && Number(input.value) === Number(card.dataset.points);
      card.setAttribute("aria-pressed", pressed ? "true" : "false");
    });
  }

  function applyLevel(card) {
    var input = document.getElementById(card.dataset.target);
    if (!input) { return; }
    input.value = card.dataset.points;
    changed();
  }

  function current() {
    var inside = document.activeElement && document.activeElement.closest("fieldset[data-criterion]");
    return inside || form.querySelector("fieldset.current") || criteria[0];
  }

  function setCurrent(fieldset) {
    criteria.forEach(function (item) { item.classList.toggle("current", item === fieldset); });
  }

  function leave(url) {
    // Navigating with n or p: send any pending draft first, so the edit is never lost.
    var wait = dirty ? saveDraft() : Promise.resolve();
    wait.then(function () { window.location.href = url; });
  }

  form.addEventListener("input", changed);
  form.addEventListener("submit", function () { submitting = true; });
  form.addEventListener("focusin", function (event) {
    var fieldset = event.target.closest("fieldset[data-criterion]");
    if (fieldset) { setCurrent(fieldset); }
    if (event.target.tagName === "TEXTAREA") { lastField = event.target; }
  });
  form.querySelectorAll(".level-card").forEach(function (card) {
    card.addEventListener("click", function () { applyLevel(card); });
  });
  markLevels();
  if (criteria.length) { setCurrent(criteria[0]); }

  window.addEventListener("beforeunload", function (event) {
    if ((dirty || pending) && !submitting) {
      if (dirty && !pending) { saveDraft(); }
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    if (/^[1-9]$/.test(key)) {
      var fieldset = current();
      var card = fieldset && fieldset.querySelectorAll(".level-card")[Number(key) - 1];
      if (!card) { return; }
      event.preventDefault();
      applyLevel(card);
      var next = criteria[criteria.indexOf(fieldset) + 1];
      var focus = (next || fieldset).querySelector(".level-card");
      if (focus) { focus.focus(); }
    } else if (key === "n" && nav.dataset.next) {
      leave(nav.dataset.next);
    } else if (key === "p" && nav.dataset.previous) {
      leave(nav.dataset.previous);
    } else if (key === "a") {
      // Approving needs intent: the key only brings the button into focus; Enter presses it.
      var approve = document.getElementById("approve-button");
      if (approve) {
        event.preventDefault();
        approve.focus();
        approve.classList.add("approve-hint");
        say("Press Enter to save and approve, or Tab away.");
      }
    } else if (key === "t") {
      var trace = document.getElementById("trace");
      if (trace) { trace.open = !trace.open; }
    }
  });

  document.querySelectorAll(".bank-insert").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = lastField || document.getElementById("id_comment");
      var text = button.dataset.text;
      var start = target.selectionStart || target.value.length;
      var before = target.value.slice(0, start);
      var spacer = before && !/\s$/.test(before) ? " " : "";
      target.value = before + spacer + text + target.value.slice(target.selectionEnd || start);
      target.focus();
      changed();
      fetch(button.dataset.countUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value}
      }).then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          var uses = button.parentNode.querySelector(".bank-uses");
          if (data && uses) { uses.textContent = String(data.uses); }
        });
    });
  });
})();

// Live reasoning trace: while the AI run is queued or running, poll its JSON every few seconds
// and show the trace so far. The trace is model output, so it is only ever set as text.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var trace = document.getElementById("trace");
  if (!trace || !trace.dataset.liveUrl || !window.fetch) { return; }
  var text = document.getElementById("trace-text");
  var tokens = document.getElementById("trace-tokens");
  var status = document.getElementById("run-status");
  if (status) { status.textContent = "AI grading is in progress; the reasoning below updates as it grows."; }

  function finished(label) {
    if (!status) { return; }
    status.textContent = "AI grading ended (" + label + "). ";
    var reload = document.createElement("a");
    reload.href = window.location.pathname;
    reload.textContent = "Reload to see the grade";
    status.appendChild(reload);
  }

  function poll() {
    fetch(trace.dataset.liveUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        text.textContent = data.trace || "";
        tokens.textContent = data.thinking_tokens === null ? "?" : String(data.thinking_tokens);
        if (data.active) { window.setTimeout(poll, POLL_MS); } else { finished(data.status_label); }
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 2); });
  }
  window.setTimeout(poll, POLL_MS);
})();
