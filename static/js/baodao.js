// Baodao pages: small enhancements only; every form works without this file.
(function () {
  "use strict";
  // Confirm before destructive posts (withdraw, reject, cancel): data-confirm="question".
  document.addEventListener("submit", function (e) {
    var q = e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { e.preventDefault(); }
  });
  // Optional location, only when the member taps the button (consent), never automatically.
  Array.prototype.forEach.call(document.querySelectorAll(".location-field"), function (box) {
    var button = box.querySelector(".locate");
    if (!button || !navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var out = box.querySelector(".locate-status");
      out.textContent = button.getAttribute("data-wait");
      navigator.geolocation.getCurrentPosition(function (pos) {
        box.querySelector("[data-role=lat]").value = pos.coords.latitude.toFixed(6);
        box.querySelector("[data-role=lon]").value = pos.coords.longitude.toFixed(6);
        out.textContent = button.getAttribute("data-done") + " (" + pos.coords.latitude.toFixed(4) + ", " +
          pos.coords.longitude.toFixed(4) + ")";
      }, function () {
        out.textContent = button.getAttribute("data-fail");
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  });
  // Photos are uploaded as soon as they are chosen: each becomes an attachment (a hidden input
  // with its upload id), so a form sent back with an error still has them. Without this
  // script the files go with the form itself.
  function addPhoto(box, name, id, thumb) {
    var li = document.createElement("li");
    var img = document.createElement("img");
    img.src = thumb; img.alt = "";
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = name; hidden.value = id;
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "secondary remove-photo";
    remove.textContent = box.getAttribute("data-remove");
    li.appendChild(img); li.appendChild(hidden); li.appendChild(remove);
    box.querySelector(".photo-list").appendChild(li);
  }
  document.addEventListener("click", function (e) {
    if (e.target.classList && e.target.classList.contains("remove-photo")) {
      var li = e.target.closest("li");
      if (li) { li.parentNode.removeChild(li); }
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll(".photo-field"), function (box) {
    var input = box.querySelector("input[type=file]");
    var note = box.querySelector(".file-count");
    var form = box.closest("form");
    if (!input || !window.fetch || !window.FormData) { return; }
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      var token = form.querySelector("input[name=csrf_token]").value;
      var pending = files.length;
      if (!pending) { return; }
      note.textContent = box.getAttribute("data-uploading");
      files.forEach(function (file) {
        var body = new FormData();
        body.append("file", file);
        fetch(box.getAttribute("data-upload-url"), {method: "POST", body: body, credentials: "same-origin",
                                                   headers: {"X-CSRFToken": token}})
          .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); })
          .then(function (res) {
            if (res.ok) { addPhoto(box, input.name, res.body.id, res.body.thumb); }
            else { note.textContent = res.body.error || box.getAttribute("data-failed"); }
          })
          .catch(function () { note.textContent = box.getAttribute("data-failed"); })
          .then(function () {
            pending -= 1;
            if (!pending) {
              input.value = "";  // sent already: not again with the form
              if (note.textContent === box.getAttribute("data-uploading")) { note.textContent = ""; }
            }
          });
      });
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
