// The finance console's only script: "select all" on the payouts list and
// the batch page's progress, polled from the server. No library.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('#payouts input[name="id"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
  var batch = document.getElementById("batch");
  if (batch && batch.dataset.done !== "true") {
    poll(batch.dataset.progress);
  }
});

// poll reads the batch's progress every second until the batch ends, then
// reloads the page for the server-rendered summary.
function poll(url) {
  fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("progress " + r.status); } return r.json(); })
    .then(function (p) {
      document.getElementById("batch-state").textContent = p.state;
      var bar = document.getElementById("batch-bar");
      bar.max = p.total; bar.value = p.finished;
      document.getElementById("batch-counts").textContent = p.finished + " of " + p.total + " payouts finished: " +
        p.completed + " completed, " + p.failed + " failed" + (p.other ? ", " + p.other + " other" : "") + ".";
      if (p.done) { window.location.reload(); } else { setTimeout(function () { poll(url); }, 1000); }
    })
    .catch(function () { setTimeout(function () { poll(url); }, 3000); });
}
