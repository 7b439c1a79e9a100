// relais console: the network on a map (Leaflet, served by relais). The points in view come from
// /console/map/points as the view moves: one by one up to 1,000, grouped by cell beyond. Without a
// tile URL the map is a plain background (no request leaves for another site). Names are set as text,
// never as HTML.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) {
    return;
  }
  var lang = document.documentElement.lang || "fr";
  var map = L.map(el, { worldCopyJump: true });
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") }).addTo(map);
  } else {
    el.classList.add("plain");
  }
  map.attributionControl.setPrefix(false);
  var bounds = JSON.parse(el.getAttribute("data-bounds"));
  if (bounds) {
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
  } else {
    map.setView([46.6, 2.4], 5);
  }
  var layer = L.layerGroup().addTo(map);
  var status = document.getElementById("map-status");
  var pending = null;

  function colour(occupancy) {
    if (occupancy === null || occupancy === undefined) { return "#6b7280"; }
    if (occupancy >= 0.85) { return "#c62828"; }
    if (occupancy >= 0.5) { return "#fca311"; }
    return "#2e7d32";
  }

  function popup(point) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = "/console/points/" + point.id + "?lang=" + lang;
    link.textContent = point.name;
    box.appendChild(link);
    var occupancy = point.occupancy === null ? "" : " · " + Math.round(point.occupancy * 100) + " %";
    box.appendChild(document.createTextNode(" · " + point.kind + occupancy));
    return box;
  }

  function load() {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var url = "/console/map/points?" + el.getAttribute("data-query") + "&bbox=" + bbox.join(",");
    fetch(url, { signal: pending.signal, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (view) {
        layer.clearLayers();
        view.clusters.forEach(function (c) {
          var marker = L.circleMarker([c.lat, c.lon], {
            radius: 9 + Math.min(18, Math.log(c.count) * 2), color: "#14213d", weight: 1,
            fillColor: "#fca311", fillOpacity: 0.85, className: "cluster"
          });
          marker.bindTooltip(String(c.count), { permanent: true, direction: "center", className: "count" });
          marker.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 3, 18)); });
          layer.addLayer(marker);
        });
        view.points.forEach(function (p) {
          var marker = L.circleMarker([p.lat, p.lon], {
            radius: 6, color: "#14213d", weight: 1, fillColor: colour(p.occupancy), fillOpacity: 0.9,
            className: "point " + p.kind
          });
          marker.bindPopup(popup(p));
          layer.addLayer(marker);
        });
        status.textContent = view.text;
        el.setAttribute("data-shown", String(view.points.length + view.clusters.length));
      })
      .catch(function () {});
  }

  map.on("moveend", load);
  load();
})();
