// The operator's keyboard shortcuts: Alt+letter goes to the element whose accesskey is that
// letter (a field gets the focus, a link is followed), the same in every browser (browsers
// differ on the accesskey modifier: Alt, Alt+Shift, Ctrl+Option).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.key.length !== 1) return;
    var letter = event.key.toLowerCase();
    var target = document.querySelector('[accesskey="' + letter + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "A") {
      target.click();
    } else {
      target.focus();
      if (target.select && target.tagName === "INPUT") target.select();
    }
  });
})();
