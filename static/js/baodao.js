// Baodao pages: small enhancements only; every form works without this file.
(function () {
  "use strict";
  // Confirm before destructive posts (withdraw, reject, cancel): data-confirm="question" on the
  // form, or on the one button of a decision form that needs it (reject, not approve). Asked once.
  document.addEventListener("submit", function (e) {
    if (e.target.getAttribute("data-resubmitting")) { return; }  // asked already, before the photos finished
    var q = (e.submitter && e.submitter.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) { e.preventDefault(); }
  });
  // Batch decisions: "select all on this page" and how many are chosen.
  function countSelected(formId) {
    var boxes = document.querySelectorAll("input[type=checkbox][name=subject][form='" + formId + "']");
    var n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    var out = document.querySelector("#" + formId + " .selected-count");
    if (out) { out.textContent = n ? "✓ " + n : ""; }
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("select-all")) {
      var id = t.getAttribute("data-form");
      Array.prototype.forEach.call(document.querySelectorAll("input[type=checkbox][name=subject][form='" + id + "']"),
        function (b) { b.checked = t.checked; });
      countSelected(id);
    } else if (t.name === "subject" && t.getAttribute("form")) {
      countSelected(t.getAttribute("form"));
    }
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
  // Photos are uploaded as soon as they are chosen: each shows at once as a preview with its
  // progress, then becomes an attachment (a hidden input with its upload id), so a form sent back
  // with an error still has them. A large photo is made smaller here first where the browser can
  // decode it (the server re-encodes and limits it all the same); one it cannot decode (HEIC on
  // most browsers) goes as it is and the server converts it. Without this script the files go
  // with the form itself.
  var MAX_EDGE = 2560, RESIZE_FROM = 1.5 * 1024 * 1024;
  function photoItem(box, previewUrl) {
    var li = document.createElement("li");
    var img = document.createElement("img");
    img.src = previewUrl; img.alt = box.getAttribute("data-photo") || "";
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", box.getAttribute("data-uploading"));
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "secondary remove-photo";
    remove.textContent = box.getAttribute("data-remove");
    li.appendChild(img); li.appendChild(bar); li.appendChild(remove);
    box.querySelector(".photo-list").appendChild(li);
    return li;
  }
  function attached(box, li, name, id, thumb) {
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = name; hidden.value = id;
    li.appendChild(hidden);
    var bar = li.querySelector("progress");
    if (bar) { li.removeChild(bar); }
    li.querySelector("img").src = thumb;
    settled(box.closest("form"));
  }
  function failed(box, li, text) {
    var bar = li.querySelector("progress");
    if (bar) { li.removeChild(bar); }
    li.classList.add("failed");
    var why = document.createElement("span");
    why.className = "errors"; why.textContent = text || box.getAttribute("data-failed");
    li.insertBefore(why, li.querySelector(".remove-photo"));
    settled(box.closest("form"));
  }
  function shrink(file) {
    // A smaller JPEG of a large photo, or the file itself when it is small or cannot be decoded.
    if (!window.createImageBitmap || !/^image\/(jpeg|png|webp)$/.test(file.type)) { return Promise.resolve(file); }
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.size <= RESIZE_FROM) { return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob && blob.size < file.size ? blob : file); }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }
  function send(box, li, name, file, token) {
    var body = new FormData();
    body.append("file", file, file.name || "photo.jpg");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", box.getAttribute("data-upload-url"));
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.upload.onprogress = function (ev) {
      var bar = li.querySelector("progress");
      if (bar && ev.lengthComputable) { bar.value = Math.round(ev.loaded * 100 / ev.total); }
    };
    xhr.onload = function () {
      var res = {};
      try { res = JSON.parse(xhr.responseText); } catch (err) { res = {}; }
      if (xhr.status === 201 && res.id) { attached(box, li, name, res.id, res.thumb); }
      else { failed(box, li, res.error); }
    };
    xhr.onerror = function () { failed(box, li); };
    xhr.send(body);
  }
  // A form sent while photos are still uploading waits for them, then goes by itself.
  function pending(form) { return form.querySelectorAll(".photo-list progress").length; }
  function settled(form) {
    if (form.getAttribute("data-waiting") && !pending(form)) {
      form.removeAttribute("data-waiting");
      if (form.querySelector(".photo-list li.failed")) { return; }  // the person decides: remove it or retry
      form.setAttribute("data-resubmitting", "1");
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  }
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented || !e.target.querySelector(".photo-field") || !pending(e.target)) { return; }
    e.preventDefault();
    e.target.setAttribute("data-waiting", "1");
    var note = e.target.querySelector(".file-count");
    if (note) { note.textContent = e.target.querySelector(".photo-field").getAttribute("data-uploading"); }
  });
  document.addEventListener("click", function (e) {
    if (e.target.classList && e.target.classList.contains("remove-photo")) {
      var li = e.target.closest("li");
      var form = e.target.closest("form");
      if (li) { li.parentNode.removeChild(li); }
      if (form) { settled(form); }
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll(".photo-field"), function (box) {
    var input = box.querySelector("input[type=file]");
    var note = box.querySelector(".file-count");
    var form = box.closest("form");
    if (!input || !window.FormData || !window.XMLHttpRequest || !window.URL) { return; }
    var max = parseInt(box.getAttribute("data-max"), 10) || 9;
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      var token = form.querySelector("input[name=csrf_token]").value;
      var room = max - box.querySelectorAll(".photo-list li:not(.failed)").length;
      note.textContent = files.length > room ? box.getAttribute("data-too-many") : "";
      files.slice(0, Math.max(room, 0)).forEach(function (file) {
        var li = photoItem(box, URL.createObjectURL(file));
        shrink(file).then(function (smaller) { send(box, li, input.name, smaller, token); });
      });
      input.value = "";  // sent already: not again with the form
    });
  });
  // Disable a submit button after the first tap (slow networks: no double posts). Only for POSTs: a GET
  // form may answer with a download (an export) and stay on the page, and must stay usable.
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented || (e.target.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
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
