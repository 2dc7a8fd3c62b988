// Refresh a deletion's (or a restriction's) status every three seconds until it completes. No inline script (CSP).
(function () {
  "use strict";
  var state = document.getElementById("deletion-state");
  var body = document.getElementById("deletion-systems");
  var certificate = document.getElementById("deletion-certificate");
  if (!state || !body) { return; }
  // The column headers, for the cards a phone shows the rows as (portal.css).
  var labels = Array.prototype.map.call(body.closest("table").querySelectorAll("thead th"), function (th) {
    return th.textContent;
  });
  var overdueText = document.documentElement.lang === "en"
    ? " · overdue: our data-protection officer is following it up"
    : " · 已逾期：个人信息保护负责人正在跟进";

  function render(data) {
    state.textContent = data.state_label;
    while (body.firstChild) { body.removeChild(body.firstChild); }
    data.systems.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-state", row.state);
      var said = row.state_label + (row.overdue ? overdueText : "") + (row.waiting ? " · " + row.waiting : "");
      [row.system, said, row.confirmed_at || "—"].forEach(function (text, n) {
        var td = document.createElement("td");
        td.textContent = text;
        td.setAttribute("data-label", labels[n] || "");
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    if (data.completed && certificate) { certificate.hidden = false; }
    return data.state === "completed";
  }

  function poll() {
    fetch(state.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (!data || !render(data)) { window.setTimeout(poll, 3000); } })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 1500);
})();
