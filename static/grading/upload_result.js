// An upload's result page, filled in live while the light worker reads the files.
// Progressive enhancement: the server renders the page as it stands; while the upload is being
// read this script asks the JSON status endpoint again every 1.5 s and redraws the summary,
// counts, roster warnings and file rows from it. Values go in as text, never HTML.
(function () {
  "use strict";

  var POLL_MS = 1500;
  var section = document.getElementById("upload-progress");
  if (!section || !window.fetch || section.getAttribute("data-processing") !== "true") {
    return;
  }
  var url = section.getAttribute("data-status-url");
  var OUTCOMES = {
    stored: ["status-succeeded", "Stored"],
    unmatched: ["flag", "Unmatched"],
    rejected: ["status-failed", "Rejected"],
  };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function cell(row, child) {
    var td = element("td");
    td.appendChild(child);
    row.appendChild(td);
    return td;
  }

  function fileRow(file) {
    var outcome = OUTCOMES[file.outcome] || OUTCOMES.rejected;
    var row = element("tr", "outcome-" + file.outcome);
    cell(row, element("code", "", file.name));
    cell(row, element("span", "badge " + outcome[0], outcome[1]));
    cell(row, document.createTextNode(file.student || "—"));
    var notes = cell(row, document.createTextNode(file.reason || ""));
    (file.flags || []).forEach(function (flag) {
      notes.appendChild(document.createTextNode(" "));
      notes.appendChild(element("span", "badge flag", flag));
    });
    return row;
  }

  function render(progress) {
    section.querySelector("[data-upload=summary]").textContent = progress.summary;
    section.querySelectorAll("[data-upload-count]").forEach(function (node) {
      var count = progress.counts[node.getAttribute("data-upload-count")] || 0;
      node.textContent = String(count) + (node.getAttribute("data-upload-label") || "");
    });
    var shown = {
      processing: progress.processing,
      unmatched: progress.counts.unmatched > 0,
      warnings: progress.warnings.length > 0,
    };
    section.querySelectorAll("[data-upload-show]").forEach(function (node) {
      node.hidden = !shown[node.getAttribute("data-upload-show")];
    });
    var warnings = section.querySelector("[data-upload=warnings]");
    if (warnings) {
      warnings.replaceChildren.apply(warnings, progress.warnings.map(function (warning) {
        return element("li", "", warning);
      }));
    }
    if (progress.files.length) {
      var rows = section.querySelector("[data-upload=rows]");
      rows.replaceChildren.apply(rows, progress.files.map(fileRow));
    }
    section.setAttribute("data-processing", progress.processing ? "true" : "false");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          return null; // signed out or no longer allowed: the page as rendered stays
        }
        return response.json().then(function (progress) {
          render(progress);
          if (progress.processing) {
            setTimeout(poll, POLL_MS);
          }
        });
      })
      .catch(function () {
        setTimeout(poll, POLL_MS); // a missed poll (network, server restarting) is tried again
      });
  }

  setTimeout(poll, POLL_MS);
})();
