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
