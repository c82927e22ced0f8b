/* Coverage map: a bundled coastline (no tile server), dataset boxes (a point for a point
   dataset), each readable mobile dataset's simplified track as a line, and a box-drawing
   tool that fills the West/South/East/North fields of the search form. The page works
   without it. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") { return; }
  var features = JSON.parse(document.getElementById("map-features").textContent || "[]");
  var map = L.map(el, { worldCopyJump: false, minZoom: 1, maxZoom: 10, keyboard: true })
    .setView([5, 75], 3);
  window.fieldcatMap = map;  /* for the browser tests and the curious */
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Coastline: Natural Earth");
  fetch("/static/vendor/land-110m.geojson").then(function (r) { return r.json(); })
    .then(function (land) {
      L.geoJSON(land, { interactive: false,
        style: { color: "#5b6b57", weight: 1, fillColor: "#dfe6d5", fillOpacity: 1 } })
        .addTo(map).bringToBack();
      window.fieldcatCoastline = true;
    });
  el.style.background = "#eaf2fb";

  var bounds = L.latLngBounds([]);
  features.forEach(function (f) {
    var w = f.bbox[0], s = f.bbox[1], e = f.bbox[2], n = f.bbox[3];
    if (w > e) { e += 360; }  /* crosses the antimeridian: draw it east of 180 */
    var layer;
    if (w === e && s === n) {
      layer = L.circleMarker([s, w], { radius: 6, color: "#1f4e8c", weight: 2 });
    } else {
      layer = L.rectangle([[s, w], [n, e]], { color: "#1f4e8c", weight: 2, fillOpacity: 0.08 });
    }
    var link = document.createElement("a");
    link.href = f.url;
    link.textContent = f.title;
    layer.bindPopup(link).addTo(map);
    bounds.extend([[s, w], [n, e]]);
    if (f.track) { drawTrack(f); }
  });

  /* A track is data: the page names its route only when the caller may read it (the route
     checks again); a dataset without one answers a null geometry. */
  function drawTrack(f) {
    fetch(f.track, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (feature) {
        if (!feature || !feature.geometry || feature.geometry.type === "Point") { return; }
        var line = L.geoJSON(feature, { style: { color: "#b35900", weight: 3 } });
        var link = document.createElement("a");
        link.href = f.url; link.textContent = f.title;
        line.bindPopup(link).addTo(map);
        window.fieldcatTracks = (window.fieldcatTracks || 0) + 1;
      });
  }

  var fields = ["west", "south", "east", "north"].map(function (n) {
    return document.getElementById("f-" + n);
  });
  var box = null;
  function showBox() {
    var v = fields.map(function (f) { return f ? parseFloat(f.value) : NaN; });
    if (box) { map.removeLayer(box); box = null; }
    if (v.some(isNaN)) { return null; }
    var e = v[0] > v[2] ? v[2] + 360 : v[2];
    box = L.rectangle([[v[1], v[0]], [v[3], e]],
      { color: "#b3261e", weight: 2, dashArray: "6 4", fill: false, interactive: false })
      .addTo(map);
    return box.getBounds();
  }
  var drawn = fields[0] ? showBox() : null;
  if (drawn) { map.fitBounds(drawn.pad(0.3), { maxZoom: 6 }); }
  else if (bounds.isValid()) { map.fitBounds(bounds.pad(0.3), { maxZoom: 5 }); }

  if (el.getAttribute("data-drawable") !== "true" || !fields[0]) { return; }
  fields.forEach(function (f) { f.addEventListener("change", showBox); });

  var drawing = false, anchor = null;
  var Tool = L.Control.extend({
    options: { position: "topright" },
    onAdd: function () {
      var button = L.DomUtil.create("button", "map-tool");
      button.type = "button";
      button.id = "draw-box";
      button.textContent = "Draw a box";
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-describedby", "map-help");
      L.DomEvent.disableClickPropagation(button);
      L.DomEvent.on(button, "click", function () {
        drawing = !drawing;
        button.setAttribute("aria-pressed", drawing ? "true" : "false");
        button.textContent = drawing ? "Drag on the map…" : "Draw a box";
        if (drawing) { map.dragging.disable(); el.classList.add("drawing"); }
        else { map.dragging.enable(); el.classList.remove("drawing"); }
      });
      this.button = button;
      return button;
    }
  });
  var tool = new Tool();
  map.addControl(tool);

  function round(x) { return Math.round(x * 100) / 100; }
  function wrap(lon) { return round(((lon + 540) % 360) - 180); }
  function clampLat(lat) { return round(Math.max(-90, Math.min(90, lat))); }

  map.on("mousedown", function (ev) {
    if (!drawing) { return; }
    anchor = ev.latlng;
    if (box) { map.removeLayer(box); }
    box = L.rectangle([anchor, anchor], { color: "#b3261e", weight: 2, dashArray: "6 4", fill: false }).addTo(map);
  });
  map.on("mousemove", function (ev) {
    if (drawing && anchor && box) { box.setBounds(L.latLngBounds(anchor, ev.latlng)); }
  });
  map.on("mouseup", function (ev) {
    if (!drawing || !anchor) { return; }
    var b = L.latLngBounds(anchor, ev.latlng);
    anchor = null;
    fields[0].value = wrap(b.getWest());
    fields[1].value = clampLat(b.getSouth());
    fields[2].value = wrap(b.getEast());
    fields[3].value = clampLat(b.getNorth());
    showBox();
    tool.button.click();  /* leave drawing mode */
    fields[0].focus();
  });
})();
