// Reload a bulk action's page every two seconds until it is done. No inline script (CSP).
(function () {
  "use strict";
  if (document.querySelector("progress[data-poll='1']")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
