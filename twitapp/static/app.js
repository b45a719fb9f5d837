/* HypoTweet: small progressive enhancements. Every page works without this file.
   - a live 280-character counter on the tweet box
   - how many accounts are chosen, out of the allowed range
   - "working…" feedback on forms that start long work, so the page never looks frozen
   - a confirmation before deleting
   - avatar images that fail to load fall back to the initials behind them */
(function () {
  "use strict";

  function counter(textarea) {
    var out = document.getElementById(textarea.getAttribute("data-counter"));
    if (!out) return;
    var max = parseInt(textarea.getAttribute("data-max") || "280", 10);  // (no maxlength: a long paste is kept, and refused with its length)
    var hint = document.getElementById("text-hint");
    function update() {
      var n = Array.from(textarea.value).length;  // code points, roughly what X counts
      var left = max - n;
      out.textContent = n + " / " + max;
      out.classList.toggle("near-limit", left <= 20 && left >= 0);
      out.classList.toggle("over-limit", left < 0);
      out.setAttribute("aria-label", left >= 0 ? left + " characters left" : -left + " characters too many");
    }
    out.hidden = false;
    if (hint) hint.classList.add("with-counter");
    textarea.addEventListener("input", update);
    update();
  }

  function choiceCount(fieldset) {
    var max = parseInt(fieldset.getAttribute("data-max") || "4", 10);
    var out = fieldset.querySelector(".choice-count");
    if (!out) return;
    function update() {  // (the boxes are counted each time: the picker replaces its page of them)
      var n = fieldset.querySelectorAll("input[type=checkbox]:checked").length;
      out.hidden = false;
      out.textContent = n + " chosen" + (n === 0 ? "." : n < 2 ? " (choose at least 2)" : n > max ? " (too many: at most " + max + ")" : ".");
      out.classList.toggle("bad", n === 1 || n > max);
    }
    fieldset.addEventListener("change", update);
    update();
  }

  function busy(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      if (event.submitter && event.submitter.hasAttribute("formaction")) return;  // the picker's own buttons
      var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
      var note = document.createElement("p");
      note.className = "busy-note";
      note.setAttribute("role", "status");
      note.textContent = form.getAttribute("data-busy");
      form.appendChild(note);
      form.classList.add("is-busy");
      if (button) {
        // disable after the submission has been built, so the button's own value still goes out
        window.setTimeout(function () { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
      }
    });
  }

  function confirmSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    });
  }

  function avatar(img) {
    function drop() { img.remove(); }
    if (img.complete && img.naturalWidth === 0) drop();
    else img.addEventListener("error", drop);
  }

  function init() {
    document.querySelectorAll("textarea[data-counter]").forEach(counter);
    document.querySelectorAll("fieldset.choices[data-max]").forEach(choiceCount);
    document.querySelectorAll("form[data-confirm]").forEach(confirmSubmit);
    document.querySelectorAll("form[data-busy]").forEach(busy);
    document.querySelectorAll("img.avatar-img").forEach(avatar);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
