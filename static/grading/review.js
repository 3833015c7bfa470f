// Keyboard shortcuts on the review page. Keys are ignored while typing in a field.
(function () {
  "use strict";
  var nav = document.getElementById("review-nav");
  if (!nav) { return; }

  function typing(target) {
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    if (key === "n" && nav.dataset.next) {
      window.location.href = nav.dataset.next;
    } else if (key === "p" && nav.dataset.previous) {
      window.location.href = nav.dataset.previous;
    } else if (key === "a") {
      var approve = document.getElementById("approve-button");
      if (approve) { approve.click(); }
    } else if (key === "t") {
      var trace = document.getElementById("trace");
      if (trace) { trace.open = !trace.open; }
    }
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
