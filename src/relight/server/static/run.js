// Streams a run's log into the page while it runs (server-sent events), and reloads the page
// when the run's status changes so the plan and the buttons match it. Our own code; no library.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || log.dataset.final === "yes" || !window.EventSource) { return; }
  var status = document.getElementById("status");
  var shown = status ? status.textContent.trim() : "";
  var source = new EventSource("/runs/" + log.dataset.run + "/events?after=" + log.dataset.after);
  source.addEventListener("log", function (e) {
    log.appendChild(document.createTextNode(e.data + "\n"));
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("status", function (e) {
    if (e.data !== shown) { source.close(); window.location.reload(); }
  });
  source.addEventListener("end", function () { source.close(); });
}());
