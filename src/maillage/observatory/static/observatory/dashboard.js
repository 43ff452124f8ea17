/* Territory dashboard map: commune polygons as the base layer, coloured by an indicator.
   No tiles unless the deployment sets MAILLAGE_TILE_URL (no request leaves the machine). */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var SCALES = {
    apl: { title: "APL (consultations/an/hab.)", breaks: [2.5, 3, 3.5, 4],
           colors: ["#d7301f", "#fc8d59", "#fdcc8a", "#a6d96a", "#1a9641"], digits: 2 },
    accessibility: { title: "Indice maillage (ETP / 10 000 hab.)", breaks: [4, 6, 8, 10],
           colors: ["#d7301f", "#fc8d59", "#fdcc8a", "#a6d96a", "#1a9641"], digits: 1 },
    minutes_emergency: { title: "Minutes au centre hospitalier", breaks: [15, 20, 30, 45],
           colors: ["#1a9641", "#a6d96a", "#fdcc8a", "#fc8d59", "#d7301f"], digits: 0 }
  };
  var current = "apl";
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: true });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "fond de carte configuré" }).addTo(map);
  }
  function fmt(v, d) {
    if (v === null || v === undefined) { return "n.d."; }
    return v.toLocaleString("fr-FR", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function color(v) {
    var s = SCALES[current];
    if (v === null || v === undefined) { return "#cfd8dc"; }
    for (var i = 0; i < s.breaks.length; i++) { if (v < s.breaks[i]) { return s.colors[i]; } }
    return s.colors[s.colors.length - 1];
  }
  function style(feature) {
    return { color: "#555", weight: 0.5, fillOpacity: 0.8, fillColor: color(feature.properties[current]) };
  }
  var layer = null;
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () { this._div = L.DomUtil.create("div", "legend"); return this._div; };
  legend.update = function () {
    var s = SCALES[current], html = "<strong>" + s.title + "</strong><br>";
    for (var i = 0; i < s.colors.length; i++) {
      var lo = i === 0 ? null : s.breaks[i - 1], hi = i < s.breaks.length ? s.breaks[i] : null;
      var label = lo === null ? "< " + fmt(hi, s.digits) : (hi === null ? "≥ " + fmt(lo, s.digits) : fmt(lo, s.digits) + " – " + fmt(hi, s.digits));
      html += '<i style="background:' + s.colors[i] + '"></i>' + label + "<br>";
    }
    html += '<i style="background:#cfd8dc"></i>n.d.';
    this._div.innerHTML = html;
  };
  fetch(el.dataset.geojson, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      layer = L.geoJSON(data, {
        style: style,
        onEachFeature: function (f, l) {
          l.bindTooltip(function () {
            var p = f.properties, s = SCALES[current];
            return "<strong>" + p.name + "</strong> (" + p.code + ")<br>" + fmt(p.population, 0) +
              " hab.<br>" + s.title + " : " + fmt(p[current], s.digits);
          }, { sticky: true });
        }
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      legend.addTo(map);
      legend.update();
      el.dataset.ready = String(data.features.length);
    });
  document.querySelectorAll("[data-layer]").forEach(function (button) {
    button.addEventListener("click", function () {
      current = button.dataset.layer;
      document.querySelectorAll("[data-layer]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      if (layer) { layer.setStyle(style); legend.update(); }
    });
  });
})();
