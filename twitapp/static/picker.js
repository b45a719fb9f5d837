/* HypoTweet: the account picker searches and turns its pages without reloading (GET /api/accounts?q=&page=,
   which carries neither the CSRF token nor the draft). Without this file, or when the API fails, its Search and
   page buttons post the guess form and the server renders the same page with the draft and the choices kept.
   Boxes ticked on a page move to the chosen list on top before the list is replaced, so no choice is lost. */
(function () {
  "use strict";

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function initials(account) {
    var words = (account.name || "").split(/[^\p{L}]+/u).filter(Boolean);
    if (words.length > 1) return (words[0][0] + words[words.length - 1][0]).toUpperCase();
    return (words[0] || account.username).slice(0, 2).toUpperCase();
  }

  function picker(fieldset) {
    var form = fieldset.form;
    var input = fieldset.querySelector("#picker-q");
    var list = fieldset.querySelector("[data-page-list]");
    var chosen = fieldset.querySelector("[data-chosen]");
    var status = fieldset.querySelector("[data-picker-status]");
    var search = fieldset.querySelector("[data-picker-search]");
    var pager = fieldset.querySelector("[data-picker-pager]");
    var atPage = form && form.querySelector("input[name=at_page]");
    if (!form || !input || !list || !chosen || !status || !search || !pager || !atPage) return;
    var prev = pager.querySelector("[data-picker-prev]");
    var next = pager.querySelector("[data-picker-next]");
    var where = pager.querySelector("[data-picker-where]");
    var shown = { q: input.value, page: parseInt(atPage.value, 10) || 1 };
    var asked = 0;
    var timer = null;
    var made = 0;

    function keepChoices() {
      list.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) { chosen.appendChild(box.closest("li")); });
      chosen.querySelectorAll("input[type=checkbox]:not(:checked)").forEach(function (box) { box.closest("li").remove(); });
      chosen.hidden = !chosen.querySelector("li");
    }

    function item(account) {
      var id = "choice-js-" + (++made);
      var label = element("label", "choice-card");
      label.htmlFor = id;
      var box = element("input", "choice-input");
      box.type = "checkbox";
      box.name = "accounts";
      box.value = account.username;
      box.id = id;
      box.setAttribute("data-platform", account.platform || "x");
      var avatar = element("span", "avatar avatar-hue-0 avatar-small");
      avatar.setAttribute("aria-hidden", "true");
      avatar.appendChild(element("span", "avatar-initials", initials(account)));
      var text = element("span", "choice-text");
      var name = element("span", "choice-name");
      name.appendChild(element("bdi", "", account.name || account.username));
      text.appendChild(name);
      text.appendChild(element("span", "handle", "@" + account.username));
      text.appendChild(element("span", "choice-meta", account.tweet_count.toLocaleString("en-US") + " tweets"));
      label.appendChild(box);
      label.appendChild(avatar);
      label.appendChild(text);
      var li = element("li");
      li.appendChild(label);
      return li;
    }

    function render(answer) {
      keepChoices();
      var taken = {};
      chosen.querySelectorAll("input[type=checkbox]").forEach(function (box) { taken[box.value.toLowerCase()] = true; });
      list.textContent = "";
      answer.accounts.forEach(function (account) {
        if (!taken[account.username.toLowerCase()]) list.appendChild(item(account));
      });
      var n = answer.total.toLocaleString("en-US");
      var first = (answer.page - 1) * answer.per_page + 1;
      var last = first + answer.accounts.length - 1;
      status.textContent = (answer.q ? n + (answer.total === 1 ? " account matches “" : " accounts match “") + answer.q + "”" : n + " accounts")
        + (answer.total ? ": " + first.toLocaleString("en-US") + "–" + last.toLocaleString("en-US") + " shown." : ".");
      shown = { q: answer.q, page: answer.page };
      atPage.value = String(answer.page);
      pager.hidden = answer.pages <= 1;
      prev.disabled = answer.page <= 1;
      next.disabled = answer.page >= answer.pages;
      prev.value = String(answer.page - 1);
      next.value = String(answer.page + 1);
      where.textContent = "Page " + answer.page + " of " + answer.pages.toLocaleString("en-US");
      var link = fieldset.querySelector("[data-picker-link]");
      if (link) {
        var kept = new URLSearchParams();
        if (answer.q) kept.set("q", answer.q);
        if (answer.page > 1) kept.set("page", String(answer.page));
        link.href = "/" + (kept.toString() ? "?" + kept.toString() : "") + "#guess";
      }
      fieldset.dispatchEvent(new Event("change", { bubbles: true }));  // the chosen count
    }

    function serverPage(page) {  // as without JavaScript: the guess form posted to the picker's view
      search.value = String(page);
      form.requestSubmit(search);
    }

    function load(q, page) {
      var mine = ++asked;
      var query = new URLSearchParams({ q: q, page: String(page), per_page: fieldset.getAttribute("data-per-page") || "24" });
      fetch(fieldset.getAttribute("data-picker") + "?" + query.toString(), { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (answer) { if (mine === asked) render(answer); })
        .catch(function () { if (mine === asked) serverPage(page); });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { load(input.value, 1); }, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      window.clearTimeout(timer);
      load(input.value, 1);
    });
    search.addEventListener("click", function (event) {
      event.preventDefault();
      load(input.value, 1);
    });
    prev.addEventListener("click", function (event) {
      event.preventDefault();
      load(shown.q, shown.page - 1);
    });
    next.addEventListener("click", function (event) {
      event.preventDefault();
      load(shown.q, shown.page + 1);
    });
  }

  function init() {
    document.querySelectorAll("fieldset[data-picker]").forEach(picker);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
