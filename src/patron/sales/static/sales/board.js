// The sales board: drag a card to another stage's column, or focus a card and press the left or
// right arrow key to move it one stage. Both fill in the card's own Move form and send it, so the
// server records the move exactly as it does without JavaScript (and asks for the reason of a
// won or lost deal on its own page). Loaded from a static file: the Content-Security-Policy
// refuses inline code and on…= attributes.
(function () {
  var board = document.querySelector("[data-board-move]");
  if (!board) return;
  var columns = Array.prototype.slice.call(board.querySelectorAll(".board-col"));
  var keys = columns.map(function (col) { return col.getAttribute("data-stage"); });
  var dragged = null;

  function move(card, key) {
    var form = card.querySelector("form.board-move");
    var select = form && form.querySelector("select[name=stage]");
    if (!select || select.value === key) return;
    select.value = key;
    card.classList.add("moving");
    form.submit();
  }

  function clearTargets() {
    columns.forEach(function (col) { col.classList.remove("drop-target"); });
  }

  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".board-card");
    if (!card) return;
    dragged = card;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });
  columns.forEach(function (col) {
    col.addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      col.classList.add("drop-target");
    });
    col.addEventListener("dragleave", function (e) {
      if (!col.contains(e.relatedTarget)) col.classList.remove("drop-target");
    });
    col.addEventListener("drop", function (e) {
      e.preventDefault();
      var card = dragged;
      clearTargets();
      if (card) move(card, col.getAttribute("data-stage"));
    });
  });

  board.addEventListener("keydown", function (e) {
    var card = e.target;
    if (!card.classList || !card.classList.contains("board-card")) return;
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    var here = keys.indexOf(card.closest(".board-col").getAttribute("data-stage"));
    var there = here + (e.key === "ArrowRight" ? 1 : -1);
    if (there < 0 || there >= keys.length) return;
    e.preventDefault();
    move(card, keys[there]);
  });

  // After a move the page comes back with #card-ID: the keyboard carries on from that card.
  if (location.hash.indexOf("#card-") === 0) {
    var back = document.getElementById(location.hash.slice(1));
    if (back) back.focus();
  }
})();
