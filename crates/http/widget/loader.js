// relais checkout widget loader. A shop page embeds:
//   <div id="relais-picker"></div>
//   <input type="hidden" name="pickup_point_id" id="pickup_point_id">
//   <script src="https://RELAIS/widget.js" data-target="#relais-picker" data-input="#pickup_point_id"
//           data-lang="fr" data-place="69002" data-weight_g="1200"
//           data-last_point_id="(from GET /v1/customers/last-point, on the shop's server)"></script>
// The picker runs in an iframe served by relais; the chosen point's id goes into the input, and a
// `relais:select` event (detail: the point) bubbles from the target element.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var target = document.querySelector(script.getAttribute("data-target") || "#relais-picker");
  var input = script.getAttribute("data-input") ? document.querySelector(script.getAttribute("data-input")) : null;
  if (!target) return;
  var query = new URLSearchParams();
  ["lang", "place", "limit", "length_mm", "width_mm", "height_mm", "weight_g", "arrival", "network_id", "kind", "services", "country", "radius_m", "last_point_id"]
    .forEach(function (name) {
      var value = script.getAttribute("data-" + name);
      if (value) query.set(name, value);
    });
  // The picker speaks the shop page's language unless told otherwise.
  if (!query.get("lang") && document.documentElement.lang) query.set("lang", document.documentElement.lang);
  var frame = document.createElement("iframe");
  frame.src = origin + "/widget?" + query.toString();
  frame.title = (query.get("lang") || "").slice(0, 2) === "en" ? "Pickup point picker" : "Choix du point de retrait";
  frame.style.cssText = "width:100%;min-height:560px;border:0";
  frame.setAttribute("loading", "lazy");
  target.appendChild(frame);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    if (!event.data || event.data.type !== "relais:point-selected") return;
    if (input) {
      input.value = event.data.point.id;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    target.dispatchEvent(new CustomEvent("relais:select", { detail: event.data.point, bubbles: true }));
  });
})();
