// The admin's user form: show only the place pickers the chosen role uses, and narrow the
// community picker to the chosen town. The form works without this file (every picker shown,
// every community grouped by town, a button to narrow them).
(function () {
  "use strict";
  var form = document.getElementById("user-form");
  if (!form) { return; }
  var role = form.querySelector("select[name=role]");
  var town = form.querySelector("select[name=town]");
  var community = form.querySelector("select[name=community]");

  function showPickers() {
    Array.prototype.forEach.call(form.querySelectorAll(".picker[data-roles]"), function (box) {
      var on = box.getAttribute("data-roles").split(" ").indexOf(role.value) >= 0;
      box.hidden = !on;
      // A hidden picker sends nothing (a staff member keeps no unit picked for another role).
      Array.prototype.forEach.call(box.querySelectorAll("select"), function (s) { s.disabled = !on; });
    });
  }

  function narrow() {
    if (!town.value) { return; }
    var chosen = community.value;
    var url = form.getAttribute("data-communities-url").replace("TOWN", encodeURIComponent(town.value));
    community.setAttribute("aria-busy", "true");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (rows) {
        var first = community.options[0].cloneNode(true);
        community.innerHTML = "";
        community.appendChild(first);
        rows.forEach(function (row) {
          var option = document.createElement("option");
          option.value = row.code;
          option.textContent = row.name;
          option.selected = row.code === chosen;
          community.appendChild(option);
        });
      })
      .catch(function () { /* keep the list as it is: every community stays choosable */ })
      .then(function () { community.removeAttribute("aria-busy"); });
  }

  role.addEventListener("change", showPickers);
  town.addEventListener("change", narrow);
  showPickers();
})();
