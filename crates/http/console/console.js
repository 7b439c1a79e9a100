// relais console: live alerts. Every page's navigation shows how many alerts are open; the alerts
// page replaces its list as they change. Both follow /console/alerts/stream (server-sent events); the
// HTML in the events is escaped by relais, the same as the page's.
(function () {
  "use strict";
  var badge = document.getElementById("alerts-count");
  if (!badge || !window.EventSource) {
    return;
  }
  var source = new EventSource(badge.getAttribute("data-stream"));
  source.addEventListener("alerts", function (event) {
    var data = JSON.parse(event.data);
    badge.textContent = data.open > 0 ? String(data.open) : "";
    badge.setAttribute("data-open", String(data.open));
    var list = document.getElementById("alerts-open");
    if (list) {
      // A comment being typed in an acknowledge form is not thrown away by an update.
      var typing = list.contains(document.activeElement) && document.activeElement.value;
      if (!typing) {
        list.innerHTML = data.html;
      }
    }
  });
})();
