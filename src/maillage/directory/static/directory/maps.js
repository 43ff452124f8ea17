/* Maps of the public directory (CSP: no inline script; data comes from data-* attributes,
   JSON blocks written by json_script, or same-origin JSON views).
   - search:    results as clustered markers (Leaflet.markercluster), from /annuaire/carte.json
   - entry:     one place and its commune outline
   - perimeter: a dispositif's perimeter (union of its communes) over the communes themselves
   The base layer is commune polygons; tiles only when the deployment sets a tile URL. */
(function () {
  "use strict";
  if (!window.L) { return; }

  var KIND_COLORS = { role: "#0b5394", organization: "#b45309", scheme: "#6d28d9", service: "#047857" };
  var KIND_LABELS = { role: "professionnel", organization: "structure", scheme: "dispositif", service: "service" };

  function baseMap(el, options) {
    // maxZoom is needed by the cluster layer when there is no tile layer to define it.
    var map = L.map(el, Object.assign({ zoomSnap: 0.25, scrollWheelZoom: false, minZoom: 4, maxZoom: 18 }, options || {}));
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "fond de carte configuré" }).addTo(map);
    }
    // Wheel zoom only once the map has been clicked: scrolling the page must not get stuck in it.
    map.on("click", function () { map.scrollWheelZoom.enable(); });
    return map;
  }

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value === null || value === undefined ? "" : String(value);
    return span.innerHTML;
  }

  function fr(n) { return Number(n).toLocaleString("fr-FR"); }

  function communesLayer(data, style) {
    return L.geoJSON(data, {
      style: style || { color: "#9aa5b1", weight: 0.6, fillColor: "#ffffff", fillOpacity: 0.85 },
      interactive: false
    });
  }

  function dotIcon(kind, synthetic) {
    return L.divIcon({
      className: "dir-dot" + (synthetic ? " synthetic" : ""),
      html: '<span style="background:' + (KIND_COLORS[kind] || "#333") + '"></span>',
      iconSize: [14, 14],
      iconAnchor: [7, 7],
      popupAnchor: [0, -6]
    });
  }

  function searchMap(el) {
    var note = document.getElementById("map-note");
    var map = baseMap(el);
    map.setView([46.6, 2.4], 5);
    fetch(el.dataset.points, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
        data.points.forEach(function (p) {
          var marker = L.marker([p.lat, p.lon], { icon: dotIcon(p.kind, p.synthetic), title: p.title });
          var html = "<strong>" + (p.url ? '<a href="' + text(p.url) + '">' + text(p.title) + "</a>" : text(p.title)) +
            "</strong>" + (p.subtitle ? "<br>" + text(p.subtitle) : "") +
            '<br><span class="muted">' + text(KIND_LABELS[p.kind] || "") + "</span>" +
            (p.synthetic ? ' <span class="tag-synth">démonstration</span>' : "");
          marker.bindPopup(html);
          cluster.addLayer(marker);
        });
        // Fit first, without animation, then add the clusters: they are computed once at the
        // final zoom (no transient clusters while an animated zoom runs).
        var bounds = L.latLngBounds(data.points.map(function (p) { return [p.lat, p.lon]; }));
        if (data.center && data.radius_km) {
          var circle = L.circle(data.center, {
            radius: data.radius_km * 1000, color: "#0b5394", weight: 1, dashArray: "4 4",
            fill: false, interactive: false
          }).addTo(map);
          bounds = bounds.isValid() ? bounds.extend(circle.getBounds()) : circle.getBounds();
        }
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 12, animate: false }); }
        map.addLayer(cluster);
        if (data.departements && data.departements.length && !el.dataset.tiles) {
          fetch(data.base_url + "?dep=" + data.departements.join(","), { credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (geo) {
              communesLayer(geo).addTo(map).bringToBack();
              el.dataset.base = String(geo.features.length);
            });
        }
        if (note) {
          var msg;
          if (!data.total) { msg = "Aucun résultat à situer."; }
          else if (data.capped) {
            msg = "La carte montre les " + fr(data.count) + " premiers résultats localisés sur " +
              fr(data.total) + " (limite de " + fr(data.cap) + " points) : précisez la recherche pour voir les autres.";
          } else if (data.count < data.total) {
            msg = fr(data.count) + " résultat" + (data.count > 1 ? "s" : "") + " localisé" + (data.count > 1 ? "s" : "") +
              " sur " + fr(data.total) + " (les autres n'ont pas de coordonnées).";
          } else {
            msg = fr(data.count) + " résultat" + (data.count > 1 ? "s" : "") + " sur la carte.";
          }
          note.textContent = msg;
        }
        el.dataset.ready = String(data.count);
      })
      .catch(function (err) {
        if (note) { note.textContent = "La carte n'a pas pu être chargée."; }
        window.console.error(err);
      });
  }

  function readJSON(id) {
    var node = id && document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function entryMap(el) {
    var data = readJSON(el.dataset.source);
    if (!data) { return; }
    var map = baseMap(el, { zoomControl: true });
    var bounds = null;
    if (data.commune) {
      var outline = L.geoJSON(data.commune, {
        style: { color: "#0b5394", weight: 1.5, fillColor: "#cfe0f1", fillOpacity: 0.35 },
        interactive: false
      }).addTo(map);
      bounds = outline.getBounds();
    }
    L.marker(data.point, { icon: dotIcon("role", false), title: data.label }).addTo(map)
      .bindTooltip(text(data.label));
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10], maxZoom: 14 }); }
    else { map.setView(data.point, 13); }
    el.dataset.ready = "1";
  }

  function perimeterMap(el) {
    var map = baseMap(el);
    fetch(el.dataset.geojson, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var communes = data.features.filter(function (f) { return f.properties.role === "commune"; });
        var union = data.features.filter(function (f) { return f.properties.role === "perimeter"; });
        var base = L.geoJSON({ type: "FeatureCollection", features: communes }, {
          style: { color: "#7b8794", weight: 0.5, fillColor: "#c7d2fe", fillOpacity: 0.35 },
          onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name), { sticky: true }); }
        }).addTo(map);
        var outline = L.geoJSON({ type: "FeatureCollection", features: union }, {
          style: { color: "#4c1d95", weight: 2.5, fill: false }, interactive: false
        }).addTo(map);
        var bounds = outline.getLayers().length ? outline.getBounds() : base.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); }
        var pointNode = document.getElementById("perimeter-point");
        var point = pointNode ? readJSON(pointNode.dataset.source) : null;
        if (point && point.point) {
          L.marker(point.point, { icon: dotIcon("scheme", false), title: point.label }).addTo(map)
            .bindTooltip(text(point.label));
        }
        el.dataset.ready = String(communes.length);
        el.dataset.perimeter = union.length ? union[0].geometry.type : "";
      });
  }

  // One colour per kind of dispositif, the same in the map, its legend and the layer switch.
  var SCHEME_COLORS = {
    msp: "#0b5394", centre_sante: "#1d4ed8", cpts: "#b91c1c", cls: "#047857", dac: "#7c3aed",
    pcpe: "#c2410c", astreinte_ide: "#0f766e", teleconsultation: "#be185d",
    consultation_avancee: "#a16207", hopital: "#334155", autre: "#52525b"
  };

  function townLabels(map, towns) {
    // Names of the main towns, bigger towns first; smaller ones only when zoomed in.
    var layer = L.layerGroup();
    towns.forEach(function (t) {
      var marker = L.circleMarker([t.lat, t.lon], { radius: 2, color: "#334155", weight: 1, interactive: false });
      marker.bindTooltip(text(t.name), { permanent: true, direction: "right", className: "town-label", offset: [3, 0] });
      marker.population = t.population;
      layer.addLayer(marker);
    });
    function refresh() {
      var zoom = map.getZoom();
      var floor = zoom >= 10 ? 0 : zoom >= 9 ? 5000 : 12000;
      layer.eachLayer(function (m) {
        var show = m.population >= floor;
        if (show && !map.hasLayer(m)) { map.addLayer(m); }
        if (!show && map.hasLayer(m)) { map.removeLayer(m); }
      });
    }
    map.on("zoomend", refresh);
    refresh();
    return layer;
  }

  function schemesMap(el) {
    var map = baseMap(el, { zoomControl: true });
    map.setView([48.1, 5.1], 8);
    fetch(el.dataset.source, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var byKind = {};
        function layerOf(kind) {
          if (!byKind[kind]) { byKind[kind] = L.featureGroup().addTo(map); }
          return byKind[kind];
        }
        data.perimeters.features.forEach(function (f) {
          var p = f.properties;
          var color = SCHEME_COLORS[p.kind] || "#333";
          L.geoJSON(f, {
            style: { color: color, weight: 2.2, fillColor: color, fillOpacity: 0.06,
                     dashArray: p.status === "planned" ? "6 5" : null }
          }).bindTooltip(text(p.name) + " — " + text(p.kind_label), { sticky: true })
            .bindPopup('<strong><a href="' + text(p.url) + '">' + text(p.name) + "</a></strong><br>" +
                       text(p.kind_label) + "<br>Périmètre : " + text(p.perimeter))
            .addTo(layerOf(p.kind));
        });
        data.points.forEach(function (p) {
          var color = SCHEME_COLORS[p.kind] || "#333";
          L.circleMarker([p.lat, p.lon], { radius: 6, color: "#fff", weight: 1.5, fillColor: color, fillOpacity: 1 })
            .bindTooltip(text(p.name))
            .bindPopup('<strong><a href="' + text(p.url) + '">' + text(p.name) + "</a></strong><br>" + text(p.kind_label) +
                       (p.status === "planned" ? " (en projet)" : "") +
                       (p.synthetic ? ' <span class="tag-synth">démonstration</span>' : ""))
            .addTo(layerOf(p.kind));
        });
        var overlays = {};
        var legend = document.getElementById("schemes-legend");
        data.kinds.forEach(function (k) {
          if (!byKind[k.kind]) { return; }
          var swatch = '<span class="swatch" style="background:' + (SCHEME_COLORS[k.kind] || "#333") + '"></span>';
          overlays[swatch + text(k.label) + " (" + byKind[k.kind].getLayers().length + ")"] = byKind[k.kind];
          if (legend) {
            var item = document.createElement("span");
            item.className = "legend-item";
            item.innerHTML = swatch + text(k.label);
            legend.appendChild(item);
          }
        });
        L.control.layers(null, overlays, { collapsed: window.innerWidth < 600 }).addTo(map);
        var bounds = L.latLngBounds([]);
        Object.keys(byKind).forEach(function (k) { bounds.extend(byKind[k].getBounds()); });
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16], maxZoom: 11, animate: false }); }
        if (data.departements.length && !el.dataset.tiles) {
          fetch(data.base_url + "?dep=" + data.departements.join(","), { credentials: "same-origin" })
            .then(function (r) { return r.json(); })
            .then(function (geo) {
              communesLayer(geo, { color: "#c3cad3", weight: 0.5, fillColor: "#ffffff", fillOpacity: 0.9 })
                .addTo(map).bringToBack();
              el.dataset.base = String(geo.features.length);
            });
        }
        townLabels(map, data.towns || []).addTo(map);
        el.dataset.perimeters = String(data.perimeters.features.length);
        el.dataset.points = String(data.points.length);
        el.dataset.ready = String(data.count);
      })
      .catch(function (err) {
        var note = document.getElementById("schemes-map-note");
        if (note) { note.textContent = "La carte n'a pas pu être chargée."; }
        window.console.error(err);
      });
  }

  document.querySelectorAll(".dir-map").forEach(function (el) {
    if (el.dataset.mode === "schemes") { schemesMap(el); return; }
    if (el.dataset.mode === "search") { searchMap(el); }
    else if (el.dataset.mode === "entry") { entryMap(el); }
    else if (el.dataset.mode === "perimeter") { perimeterMap(el); }
  });
})();
