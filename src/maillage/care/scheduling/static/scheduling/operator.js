// The operator's keyboard shortcuts: Alt+letter goes to the element whose accesskey is that
// letter (a field gets the focus, a link is followed), the same in every browser and keyboard
// layout (browsers differ on the accesskey modifier: Alt, Alt+Shift, Ctrl+Option; the physical
// key is read, so macOS's Option+letter characters do not matter).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    var match = /^Key([A-Z])$/.exec(event.code || "");
    if (!match) return;
    var letter = match[1].toLowerCase();
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
