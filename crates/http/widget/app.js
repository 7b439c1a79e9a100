// The relais point picker (served at /widget, usually inside the iframe that /widget.js creates).
// Searches /widget/points, lists the points with today's hours, distance and room, draws them on a
// plain SVG map (no online tiles), and hands the chosen point to the embedding page with postMessage.
// Keyboard: Tab to the list, arrow keys move between points, Enter or Space chooses.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var lang = (params.get("lang") || navigator.language || "fr").slice(0, 2) === "en" ? "en" : "fr";
  var TEXT = {
    fr: {
      title: "Choisissez votre point de retrait", place: "Code postal ou ville", search: "Rechercher",
      searching: "Recherche…", found: "{n} points près de {place}", none: "Aucun point disponible près de {place}. Essayez une autre ville.",
      today: "Aujourd'hui : {hours}", closed: "Fermé aujourd'hui", unknown: "Horaires non communiqués",
      plenty: "De la place", few: "Presque complet", full: "Complet", capUnknown: "",
      chosen: "Point choisi : {name}", choose: "Choisir {name}", last: "Votre dernier point",
      kind: { locker: "Consigne", counter: "Point relais", post_office: "Bureau de poste", store: "Magasin", hub: "Point de collecte" }
    },
    en: {
      title: "Choose your pickup point", place: "Postcode or city", search: "Search",
      searching: "Searching…", found: "{n} points near {place}", none: "No available point near {place}. Try another city.",
      today: "Today: {hours}", closed: "Closed today", unknown: "Hours not known",
      plenty: "Room available", few: "Almost full", full: "Full", capUnknown: "",
      chosen: "Chosen: {name}", choose: "Choose {name}", last: "Your last point",
      kind: { locker: "Locker", counter: "Pickup counter", post_office: "Post office", store: "Store", hub: "Hub" }
    }
  }[lang];
  document.documentElement.lang = lang;
  document.title = TEXT.title;
  Array.prototype.forEach.call(document.querySelectorAll("[data-text]"), function (el) {
    el.textContent = TEXT[el.getAttribute("data-text")];
  });

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  function distance(m) {
    return m < 1000 ? m + " m" : (m / 1000).toFixed(m < 10000 ? 1 : 0).replace(".", lang === "fr" ? "," : ".") + " km";
  }
  function hours(today) {
    if (today.state === "unknown" && today.intervals.length === 0) return TEXT.unknown;
    if (today.intervals.length === 0) return TEXT.closed;
    return fill(TEXT.today, { hours: today.intervals.map(function (i) { return i.from + "–" + i.to; }).join(", ") });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var form = document.getElementById("search");
  var input = document.getElementById("place");
  var status = document.getElementById("status");
  var list = document.getElementById("results");
  var map = document.getElementById("map");
  var chosen = document.getElementById("chosen");
  var points = [];
  // With the operator's tile service (and the map library relais serves then): a real map; without,
  // the plain drawing below.
  var tiles = document.querySelector("main").getAttribute("data-tiles");
  var tileMap = null, tileLayer = null, tileMarkers = [];
  if (tiles && window.L) {
    var holder = el("div");
    holder.id = "tilemap";
    map.parentNode.replaceChild(holder, map);
    tileMap = L.map(holder, { zoomControl: true, attributionControl: true });
    tileMap.attributionControl.setPrefix(false);
    L.tileLayer(tiles, { maxZoom: 19, attribution: document.querySelector("main").getAttribute("data-attribution") }).addTo(tileMap);
    tileMap.setView([46.6, 2.4], 5);
    tileLayer = L.layerGroup().addTo(tileMap);
  }
  // The parcel and filters the shop passed along (size, weight, arrival day, networks, kinds).
  // The customer's last point (the shop asked relais for it) comes first, marked.
  var FORWARD = ["length_mm", "width_mm", "height_mm", "weight_g", "arrival", "network_id", "kind", "services", "country", "radius_m", "last_point_id"];

  function search(place) {
    var query = new URLSearchParams();
    query.set(/^\d{4,5}$/.test(place) ? "postcode" : "city", place);
    query.set("limit", params.get("limit") || "10");
    query.set("free_capacity", "true");
    FORWARD.forEach(function (name) { if (params.get(name)) query.set(name, params.get(name)); });
    status.textContent = TEXT.searching;
    fetch("/widget/points?" + query.toString())
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (reply) {
        if (!reply.ok) {
          points = [];
          render();
          status.textContent = reply.body.error ? reply.body.error.message : String(reply.status);
          return;
        }
        points = reply.body.results;
        render(reply.body.origin);
        var where = reply.body.origin.label || place;
        status.textContent = points.length ? fill(TEXT.found, { n: points.length, place: where }) : fill(TEXT.none, { place: where });
      })
      .catch(function (error) { status.textContent = String(error); });
  }

  function render(origin) {
    list.textContent = "";
    if (!tileMap) {
      while (map.firstChild) map.removeChild(map.firstChild);
    }
    points.forEach(function (p, i) {
      var li = el("li");
      var button = el("button", "point");
      button.type = "button";
      button.id = "point-" + i;
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", fill(TEXT.choose, { name: p.name }) + ", " + distance(p.distance_m));
      button.appendChild(el("span", "n", String(i + 1)));
      button.appendChild(el("span", "name", p.name + " · " + (TEXT.kind[p.kind] || p.kind)));
      button.appendChild(el("span", "dist", distance(p.distance_m)));
      button.appendChild(el("span", "addr", p.address_line1 + ", " + p.postcode + " " + p.city));
      if (p.last_used) button.appendChild(el("span", "last", TEXT.last));
      var cap = TEXT[p.capacity.level === "unknown" ? "capUnknown" : p.capacity.level];
      var line = el("span", "hours", hours(p.today) + (cap ? " · " : ""));
      if (cap) line.appendChild(el("span", "cap-" + p.capacity.level, cap));
      button.appendChild(line);
      button.addEventListener("click", function () { choose(i); });
      button.addEventListener("keydown", function (event) {
        var next = event.key === "ArrowDown" ? i + 1 : event.key === "ArrowUp" ? i - 1 : -1;
        if (next >= 0 && next < points.length) {
          event.preventDefault();
          document.getElementById("point-" + next).focus();
        }
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    if (origin) {
      if (tileMap) drawOnTiles(origin); else draw(origin);
    }
  }

  // The same numbered markers over the tiles; a marker chooses its point.
  function drawOnTiles(origin) {
    tileLayer.clearLayers();
    tileMarkers = [];
    L.circleMarker([origin.latitude, origin.longitude], { radius: 5, color: "#1d232b", weight: 2, fill: false }).addTo(tileLayer);
    var corners = [[origin.latitude, origin.longitude]];
    points.forEach(function (p, i) {
      var icon = L.divIcon({ className: "tile-marker", html: String(i + 1), iconSize: [24, 24] });
      var marker = L.marker([p.latitude, p.longitude], { icon: icon, keyboard: false, title: p.name });
      marker.on("click", function () { document.getElementById("point-" + i).focus(); choose(i); });
      marker.addTo(tileLayer);
      tileMarkers.push(marker);
      corners.push([p.latitude, p.longitude]);
    });
    tileMap.fitBounds(corners, { padding: [24, 24], maxZoom: 16 });
  }

  // An equirectangular projection around the origin, scaled to the farthest point.
  function draw(origin) {
    var ns = "http://www.w3.org/2000/svg";
    var k = Math.cos(origin.latitude * Math.PI / 180);
    var xy = points.map(function (p) { return [(p.longitude - origin.longitude) * k, origin.latitude - p.latitude]; });
    var extent = xy.reduce(function (m, c) { return Math.max(m, Math.abs(c[0]), Math.abs(c[1])); }, 0.001);
    var scale = 140 / extent;
    var cross = document.createElementNS(ns, "path");
    cross.setAttribute("class", "origin");
    cross.setAttribute("d", "M-6 0H6M0 -6V6");
    map.appendChild(cross);
    xy.forEach(function (c, i) {
      var g = document.createElementNS(ns, "g");
      g.setAttribute("class", "marker");
      g.setAttribute("data-index", String(i));
      g.setAttribute("transform", "translate(" + (c[0] * scale).toFixed(1) + " " + (c[1] * scale).toFixed(1) + ")");
      var circle = document.createElementNS(ns, "circle");
      circle.setAttribute("r", "9");
      var label = document.createElementNS(ns, "text");
      label.textContent = String(i + 1);
      g.appendChild(circle);
      g.appendChild(label);
      g.addEventListener("click", function () { document.getElementById("point-" + i).focus(); choose(i); });
      map.appendChild(g);
    });
  }

  function choose(i) {
    var p = points[i];
    Array.prototype.forEach.call(list.querySelectorAll(".point"), function (b, j) {
      b.setAttribute("aria-pressed", j === i ? "true" : "false");
    });
    Array.prototype.forEach.call(map.querySelectorAll(".marker"), function (m) {
      m.setAttribute("class", m.getAttribute("data-index") === String(i) ? "marker on" : "marker");
    });
    tileMarkers.forEach(function (m, j) {
      var node = m.getElement();
      if (node) node.classList.toggle("on", j === i);
    });
    chosen.textContent = fill(TEXT.chosen, { name: p.name });
    var choice = {
      id: p.id, network_id: p.network_id, external_id: p.external_id, kind: p.kind, name: p.name,
      address_line1: p.address_line1, postcode: p.postcode, city: p.city, country: p.country,
      latitude: p.latitude, longitude: p.longitude
    };
    if (window.parent !== window) window.parent.postMessage({ type: "relais:point-selected", point: choice }, "*");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (input.value.trim()) search(input.value.trim());
  });
  if (params.get("place")) {
    input.value = params.get("place");
    search(input.value);
  }
})();
