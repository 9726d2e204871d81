// Baodao pages: small enhancements only; every form works without this file.
(function () {
  "use strict";
  // Confirm before destructive posts (withdraw, reject, cancel): data-confirm="question".
  document.addEventListener("submit", function (e) {
    var q = e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { e.preventDefault(); }
  });
  // Optional location, only when the member taps the button (consent), never automatically.
  var button = document.getElementById("locate");
  if (button && navigator.geolocation) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var out = document.getElementById("locate-status");
      out.textContent = button.getAttribute("data-wait");
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.querySelector("input[name=lat]").value = pos.coords.latitude.toFixed(6);
        document.querySelector("input[name=lon]").value = pos.coords.longitude.toFixed(6);
        out.textContent = button.getAttribute("data-done") + " (" + pos.coords.latitude.toFixed(4) + ", " +
          pos.coords.longitude.toFixed(4) + ")";
      }, function () {
        out.textContent = button.getAttribute("data-fail");
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  }
  // Say how many photos were chosen.
  Array.prototype.forEach.call(document.querySelectorAll("input[type=file][multiple]"), function (input) {
    input.addEventListener("change", function () {
      var note = input.parentNode.querySelector(".file-count");
      if (note) { note.textContent = input.files.length ? input.files.length + " ✓" : ""; }
    });
  });
  // Disable a submit button after the first tap (slow networks: no double posts).
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented) { return; }
    Array.prototype.forEach.call(e.target.querySelectorAll("button[type=submit],button:not([type])"), function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  });
})();
(function () {
  "use strict";
  var p = document.getElementById("print");
  if (p) { p.addEventListener("click", function () { window.print(); }); }
})();
