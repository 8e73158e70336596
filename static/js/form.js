// Progressive enhancement for the registration form; the form works without it.
"use strict";
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
