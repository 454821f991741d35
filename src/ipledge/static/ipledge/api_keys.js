// The API key form: only the actions the chosen role may take can be ticked (the server checks again).
(function () {
  "use strict";
  document.querySelectorAll("select[data-role-actions]").forEach(function (select) {
    var box = document.getElementById(select.getAttribute("data-role-actions"));
    if (!box) {
      return;
    }
    function sync() {
      var allowed = (select.getAttribute("data-actions-" + select.value) || "").split(" ");
      box.querySelectorAll("input[type=checkbox]").forEach(function (input) {
        var ok = allowed.indexOf(input.value) !== -1;
        input.disabled = !ok;
        if (!ok) {
          input.checked = false;
        }
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
})();
