/* HypoTweet: small progressive enhancements. Every page works without this file.
   - a live counter on the tweet box, its limit that of the chosen accounts' platforms
   - how many accounts are chosen, out of the allowed range
   - "working…" feedback on forms that start long work, so the page never looks frozen
   - a confirmation before deleting
   - avatar images that fail to load fall back to the initials behind them */
(function () {
  "use strict";

  // The limit follows the chosen accounts' platforms as the server's does (services/text_limits.py):
  // the longest post among X (always a candidate) and the chosen platforms; Bluesky counts graphemes.
  var graphemes = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

  function length(text, unit) {
    if (unit === "graphemes" && graphemes) {
      var n = 0, it = graphemes.segment(text)[Symbol.iterator]();
      while (!it.next().done) n += 1;
      return n;
    }
    return Array.from(text).length;  // code points, as the server counts characters
  }

  function chosenLimit(form, limits) {
    var best = limits.x || [280, "characters"];
    var seen = {};
    form.querySelectorAll("input[name=accounts]:checked[data-platform]").forEach(function (box) {
      seen[box.getAttribute("data-platform")] = true;
    });
    ["bluesky", "mastodon"].forEach(function (platform) {
      if (seen[platform] && limits[platform] && limits[platform][0] > best[0]) best = limits[platform];
    });
    return best;
  }

  function counter(textarea) {
    var out = document.getElementById(textarea.getAttribute("data-counter"));
    if (!out) return;
    var limits = {};
    try { limits = JSON.parse(textarea.getAttribute("data-limits") || "{}"); } catch (e) { limits = {}; }
    var hint = document.getElementById("text-hint");
    function update() {
      var limit = textarea.form ? chosenLimit(textarea.form, limits) : (limits.x || [280, "characters"]);
      var max = limit[0];  // (no maxlength: a long paste is kept, and refused with its length)
      var n = length(textarea.value, limit[1]);
      var left = max - n;
      out.textContent = n + " / " + max;
      out.classList.toggle("near-limit", left <= 20 && left >= 0);
      out.classList.toggle("over-limit", left < 0);
      var over = -left;
      out.setAttribute("aria-label", left >= 0 ? left + (left === 1 ? " character left" : " characters left")
        : over + (over === 1 ? " character too many" : " characters too many"));
    }
    out.hidden = false;
    if (hint) hint.classList.add("with-counter");
    textarea.addEventListener("input", update);
    if (textarea.form) textarea.form.addEventListener("change", update);
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
