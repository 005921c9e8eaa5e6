// The little script every page may need, as a file: the Content-Security-Policy allows no
// inline script or style.
(function () {
  "use strict";

  // Bars drawn from data: <div data-width="42"> is 42% wide.
  function widths(root) {
    root.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.width) || 0)) + "%";
    });
  }

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  // An import's page (data-poll="batch"): reloads when the import is no longer running.
  function pollBatch(box) {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      if (s.status !== "pending" && s.status !== "running") { window.location.reload(); return; }
      text("stage", s.stage_label);
      document.getElementById("fill").style.width = s.percent + "%";
      var lang = document.documentElement.lang === "en" ? "en-US" : "id-ID";
      text("counts", s.total ? (s.done.toLocaleString(lang) + " / " + s.total.toLocaleString(lang)) : "");
      setTimeout(function () { pollBatch(box); }, 700);
    }).catch(function () { setTimeout(function () { pollBatch(box); }, 2000); });
  }

  // A background run (data-poll="job"): moves the bar while it works, opens the result when
  // it is done, shows the error if it failed.
  function pollJob(box) {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      if (s.finished) {
        if (s.error) { text("error", s.error); document.getElementById("fill").className = ""; return; }
        window.location.href = s.url; return;
      }
      if (s.label) { text("stage", s.label); }
      if (s.percent !== undefined) { document.getElementById("fill").style.width = s.percent + "%"; }
      setTimeout(function () { pollJob(box); }, 800);
    }).catch(function () { setTimeout(function () { pollJob(box); }, 2000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    widths(document);
    var box = document.getElementById("progress");
    if (box && box.dataset.url) {
      (box.dataset.poll === "batch" ? pollBatch : pollJob)(box);
    }
  });
})();
