// Follows the build of an export (maillage.exports) and offers the download when it is ready.
(function () {
  "use strict";
  var box = document.querySelector(".export-preparing");
  if (!box || !box.dataset.statusUrl) return;
  var bar = box.querySelector("progress");
  var percent = box.querySelector("[data-export-percent]");
  var message = box.querySelector("[data-export-message]");
  var ready = box.querySelector("[data-export-ready]");
  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { window.location.reload(); return; }
        var p = Math.round(100 * (s.progress || 0));
        if (bar) bar.value = p;
        if (percent) percent.textContent = p + " %";
        if (message) message.textContent = s.message || "";
        if (s.state === "ready") {
          if (bar) bar.value = 100;
          if (ready) ready.hidden = false;
          window.location.href = box.dataset.downloadUrl;
        } else if (s.state === "failed" || s.state === "missing") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
