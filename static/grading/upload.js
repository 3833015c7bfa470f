/* Upload progress for the upload form: progressive enhancement.
 * Without this script, or for uploads under a megabyte, the form posts as usual. Otherwise the
 * same POST goes through XMLHttpRequest so its upload progress events can drive the <progress>
 * bar; when the server answers with a redirect (the result page) the browser goes there,
 * otherwise (a form error) the answer replaces the page, as a plain post would show it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload-progress]");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var status = form.querySelector("[data-upload-status]");
  var bar = status.querySelector("progress");
  var text = status.querySelector("[data-upload-text]");
  var button = form.querySelector("button[type=submit]");
  var BYTES_PER_MB = 1024 * 1024;
  // Small uploads finish at once: they post as a plain form, with no bar to watch.
  var PROGRESS_MIN_BYTES = BYTES_PER_MB;

  function selectedBytes() {
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        total += file.size;
      });
    });
    return total;
  }

  function megabytes(bytes) {
    return (bytes / BYTES_PER_MB).toFixed(1) + " MB";
  }

  function show(percent, message) {
    if (percent === null) {
      bar.removeAttribute("value");
    } else {
      bar.value = percent;
      bar.textContent = percent + "%";
    }
    text.textContent = message;
  }

  form.addEventListener("submit", function (event) {
    if (selectedBytes() < PROGRESS_MIN_BYTES) {
      return;
    }
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    status.hidden = false;
    button.disabled = true;
    show(0, "Starting the upload…");
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) {
        show(null, megabytes(progress.loaded) + " sent");
        return;
      }
      var percent = Math.round((100 * progress.loaded) / progress.total);
      show(percent, percent + "% (" + megabytes(progress.loaded) + " of " + megabytes(progress.total) + ")");
    });
    xhr.upload.addEventListener("load", function () {
      show(100, "Uploaded. Opening the result page…");
    });
    xhr.addEventListener("load", function () {
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      show(0, "The upload failed (the connection broke). Please try again.");
      button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
})();
