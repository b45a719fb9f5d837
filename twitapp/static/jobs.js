// The job page (templates/job.html): poll /api/jobs/<id> and show the phase and counts; reload once the
// job is over, so the server renders its result or error. No inline script: the CSP allows none.
(function () {
  "use strict";
  var card = document.querySelector("[data-job]");
  if (!card || !window.fetch) return;
  var url = card.getAttribute("data-job-url");
  var every = Math.max(1, parseInt(card.getAttribute("data-job-refresh"), 10) || 2) * 500;
  var names = {queued: "Waiting for a worker", starting: "Starting", downloading: "Downloading",
               fetching: "Fetching tweets from X", embedding: "Reading the tweets' style",
               storing: "Storing", fitting: "Learning the accounts' posts", done: "Done"};
  var phase = card.querySelector("[data-job-phase]");
  var count = card.querySelector("[data-job-count]");
  var bar = card.querySelector("[data-job-bar]");
  var fmt = function (n) { return Number(n || 0).toLocaleString("en-US"); };

  function show(job) {
    if (phase) phase.textContent = names[job.phase] || job.phase;
    if (count) count.textContent = job.total ? fmt(job.done) + " of " + fmt(job.total) : (job.done ? fmt(job.done) : "");
    if (bar) {
      if (job.total) { bar.max = job.total; bar.value = job.done; } else { bar.removeAttribute("value"); }
    }
  }

  function poll() {
    fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        var job = body.job;
        if (job.status === "finished" || job.status === "failed") { window.location.reload(); return; }
        show(job);
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 4); });
  }
  window.setTimeout(poll, every);
})();
