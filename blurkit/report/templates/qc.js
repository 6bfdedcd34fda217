// Sorts the QC table when a column header is clicked: ascending first, then
// reversed on each click. Cells carry their sort key in data-v.
(function () {
  "use strict";
  var table = document.getElementById("qc-table");
  if (!table) {
    return;
  }
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var body = table.tBodies[0];
  var collator = new Intl.Collator(undefined, { numeric: true });

  function key(row, column, numeric) {
    var text = row.cells[column].getAttribute("data-v");
    if (!numeric) {
      return text;
    }
    var value = parseFloat(text);
    return isNaN(value) ? -Infinity : value;
  }

  function compare(a, b, numeric) {
    if (!numeric) {
      return collator.compare(a, b);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function sortBy(column, descending) {
    var numeric = headers[column].getAttribute("data-type") === "number";
    var sign = descending ? -1 : 1;
    var keyed = Array.prototype.map.call(body.rows, function (row) {
      return { key: key(row, column, numeric), row: row };
    });
    // Array.prototype.sort is stable: ties keep their current order.
    keyed.sort(function (a, b) {
      return sign * compare(a.key, b.key, numeric);
    });
    var rows = document.createDocumentFragment();
    keyed.forEach(function (item) {
      rows.appendChild(item.row);
    });
    body.appendChild(rows);
    headers.forEach(function (header, i) {
      header.setAttribute(
        "aria-sort",
        i !== column ? "none" : descending ? "descending" : "ascending"
      );
    });
  }

  headers.forEach(function (header, column) {
    header.querySelector("button").addEventListener("click", function () {
      sortBy(column, header.getAttribute("aria-sort") === "ascending");
    });
  });
})();
