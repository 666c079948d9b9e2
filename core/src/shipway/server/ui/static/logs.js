// The run page's live log tail: the API's event stream (GET /api/flow-runs/{id}/logs/stream)
// appends each new line, and the state badge follows the run (GET /api/flow-runs/{id}
// every 2 s); when the run ends the page reloads once to show its final state.
(function () {
  "use strict";
  var logs = document.getElementById("logs");
  if (!logs || logs.dataset.final === "true" || !window.EventSource) return;
  var status = document.getElementById("log-status");
  var url = "/api/flow-runs/" + encodeURIComponent(logs.dataset.run) +
    "/logs/stream?after=" + encodeURIComponent(logs.dataset.after);
  var source = new EventSource(url);
  source.addEventListener("log", function (event) {
    var line = JSON.parse(event.data);
    var atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    var span = document.createElement("span");
    span.className = "line " + line.stream;
    span.dataset.seq = line.seq;
    span.textContent = line.text;  // text, never markup
    logs.appendChild(span);
    logs.appendChild(document.createTextNode("\n"));
    var empty = document.getElementById("no-logs");
    if (empty) empty.remove();
    if (atBottom) logs.scrollTop = logs.scrollHeight;
  });
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
  var badge = document.querySelector("#run-state .state");
  var poll = window.setInterval(function () {
    fetch("/api/flow-runs/" + encodeURIComponent(logs.dataset.run), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (run) {
        if (!run || !badge || badge.textContent === run.state) return;
        badge.textContent = run.state;
        badge.className = "state state-" + run.state.toLowerCase();
      })
      .catch(function () {});
  }, 2000);
  window.addEventListener("pagehide", function () { window.clearInterval(poll); source.close(); });
  source.onerror = function () {
    if (status) status.textContent = "reconnecting…";
  };
  source.onopen = function () {
    if (status) status.textContent = "live";
  };
})();
