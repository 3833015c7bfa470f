// Live AI grading progress on the assignment page, without reloading.
// Progressive enhancement: the server renders the section; this script only refreshes it from
// the JSON progress endpoint every 2 s while grading is under way. Values go in as text, never HTML.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var section = document.getElementById("grading-progress");
  if (!section || !window.fetch) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var wasActive = section.getAttribute("data-active") === "true";
  var timer = null;

  function render(progress) {
    section.querySelectorAll("[data-progress]").forEach(function (element) {
      var value = progress[element.getAttribute("data-progress")];
      if (value === undefined || value === null) {
        value = "";
      }
      if (element.tagName === "PROGRESS") {
        element.value = Number(value) || 0;
        element.textContent = String(value) + "%";
      } else {
        element.textContent = String(value);
      }
    });
    section.querySelectorAll("[data-progress-show]").forEach(function (element) {
      element.hidden = !progress[element.getAttribute("data-progress-show")];
    });
    renderRows(progress.rows || []);
    var rate = section.querySelector("[data-progress-rate]");
    if (rate) {
      rate.textContent = progress.tokens_per_second ? "(" + progress.tokens_per_second + " tokens/s measured)" : "";
    }
    if (wasActive && !progress.active) {
      // The submission table below still shows the old statuses.
      section.querySelector("[data-progress-note]").hidden = false;
    }
    wasActive = progress.active;
  }

  // Each running row of the table: its token count and speed, as its run streams them.
  function renderRows(rows) {
    var live = {};
    rows.forEach(function (row) { live[String(row.submission_id)] = row; });
    document.querySelectorAll("tr[data-submission]").forEach(function (tr) {
      var row = live[tr.getAttribute("data-submission")];
      var cell = tr.querySelector("[data-row-live]");
      var badge = tr.querySelector("[data-row-status]");
      if (!cell) {
        return;
      }
      if (row) {
        badge.textContent = "Running";
        badge.className = "badge status-running";
        cell.textContent = row.tokens + " tokens · " + row.tokens_per_second + "/s";
      } else if (cell.textContent) {
        cell.textContent = "finished: reload to see";
      }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          // Signed out, or no longer allowed: the server-rendered numbers stay.
          return null;
        }
        return response.json().then(function (progress) {
          render(progress);
          schedule(progress.active);
        });
      })
      .catch(function () {
        schedule(true); // a missed poll (network, server restarting) is tried again
      });
  }

  function schedule(active) {
    clearTimeout(timer);
    // Nothing under way: stop until the page is reloaded (starting a batch reloads it).
    if (active) {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  schedule(wasActive);
})();
