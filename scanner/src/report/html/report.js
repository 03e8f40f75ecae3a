// imgscan HTML report: sorting, filtering by text and by layer. Everything
// essential is readable without it.
(function () {
  "use strict";
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.data"));
  var state = { layer: null, text: "" };

  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var key = cell.getAttribute("data-sort");
    return key !== null ? key : cell.textContent.trim().toLowerCase();
  }

  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index), y = cellKey(b, index);
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = (!isNaN(nx) && !isNaN(ny) && String(nx) === x && String(ny) === y) ? nx - ny : (x < y ? -1 : x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function apply() {
    tables.forEach(function (table) {
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var layerOk = state.layer === null || row.getAttribute("data-layer") === state.layer;
        var textOk = state.text === "" || row.textContent.toLowerCase().indexOf(state.text) !== -1;
        var show = layerOk && textOk;
        row.classList.toggle("hidden", !show);
        if (show) shown++;
      });
      var counter = document.getElementById(table.id + "-shown");
      if (counter) counter.textContent = shown === table.tBodies[0].rows.length ? "" : "(" + shown + " shown)";
    });
    var note = document.getElementById("filter-note");
    note.textContent = state.layer === null ? "Click a layer to see only what it brought." : "Showing layer " + state.layer + " only.";
    document.getElementById("clear-filter").hidden = state.layer === null && state.text === "";
    Array.prototype.forEach.call(document.querySelectorAll("tr.layer"), function (row) {
      row.classList.toggle("selected", row.getAttribute("data-layer") === state.layer);
    });
  }

  tables.forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
  // The layer filter lives in the address too (#layer=N), so a link can
  // point at what one layer brought.
  function showLayer(layer) {
    state.layer = layer;
    var address = location.pathname + location.search + (layer === null ? "" : "#layer=" + layer);
    try { history.replaceState(null, "", address); } catch (e) { /* file: pages may refuse */ }
    apply();
  }
  Array.prototype.forEach.call(document.querySelectorAll("tr.layer"), function (row) {
    row.addEventListener("click", function () {
      var layer = row.getAttribute("data-layer");
      showLayer(state.layer === layer ? null : layer);
    });
  });
  var asked = /^#layer=(\d+)$/.exec(location.hash);
  if (asked && document.querySelector('tr.layer[data-layer="' + asked[1] + '"]')) {
    state.layer = asked[1];
  }
  var search = document.getElementById("search");
  search.addEventListener("input", function () { state.text = search.value.trim().toLowerCase(); apply(); });
  document.getElementById("clear-filter").addEventListener("click", function () {
    state.text = ""; search.value = ""; showLayer(null);
  });
  document.querySelector(".toolbar").hidden = false;
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
