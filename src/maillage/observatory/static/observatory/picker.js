/* Territory picker: suggestions by name (accents and typos forgiven) as the user types. */
(function () {
  "use strict";
  var input = document.getElementById("t");
  var list = document.getElementById("t-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var timer = null, last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q.length < 2 || q === last || q.indexOf(":") >= 0) { return; }
      last = q;
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          list.textContent = "";
          data.results.forEach(function (s) {
            var option = document.createElement("option");
            option.value = s.spec;
            option.label = s.name + " — " + s.kind_label + " " + s.code;
            list.appendChild(option);
          });
        });
    }, 150);
  });
}());
