// Follow the copy being built; show the download link when ready. No inline script (CSP).
(function () {
  "use strict";
  var state = document.getElementById("copy-state");
  var bar = document.getElementById("copy-progress");
  var link = document.getElementById("copy-download");
  if (!state) { return; }
  function poll() {
    fetch(state.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return window.setTimeout(poll, 5000); }
        state.textContent = data.state_label;
        bar.value = data.progress;
        if (data.state === "ready") { link.hidden = false; return; }
        if (data.state !== "failed" && data.state !== "expired") { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
