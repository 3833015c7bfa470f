// Send the signed deep-linking reply back to the LMS at once; the button stays for browsers
// without scripts.
(function () {
  "use strict";
  var form = document.getElementById("lti-deep-link-return");
  if (form) {
    form.submit();
  }
})();
