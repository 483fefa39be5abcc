// The review pane's single-key shortcuts: s, d and u choose same person, different persons
// or unsure, only while the pane (or something in it other than a text field) has focus;
// the choice is announced and the reason field focused, and Enter there decides. Without
// this script the three buttons do the same.
(function () {
  "use strict";
  var pane = document.getElementById("review-pane");
  if (!pane) { return; }
  var form = document.getElementById("decision-form");
  var reason = document.getElementById("reason");
  var status = document.getElementById("chosen");
  var buttons = form.querySelectorAll("button[data-key]");
  var chosen = null;

  function typing(target) {
    return target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
      target.tagName === "SELECT" || target.isContentEditable;
  }

  function choose(button) {
    chosen = button;
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
    status.textContent = "Chosen: " + button.dataset.label +
      ". Write the reason, then press Enter to decide.";
    reason.focus();
  }

  pane.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "Enter" && event.target === reason) {
      event.preventDefault();
      if (chosen) {
        form.requestSubmit(chosen);
      } else {
        status.textContent = "Choose first: s same person, d different persons, u unsure " +
          "(move focus out of the reason field), or use a button.";
      }
      return;
    }
    if (typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    for (var i = 0; i < buttons.length; i += 1) {
      if (buttons[i].dataset.key === key) {
        event.preventDefault();
        choose(buttons[i]);
        return;
      }
    }
  });
})();
