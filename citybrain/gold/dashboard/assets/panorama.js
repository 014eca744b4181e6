// Filter the indicator cards by status (the page works without it: every card is visible).
document.addEventListener("DOMContentLoaded", function () {
  var buttons = document.querySelectorAll(".summary button[data-filter]");
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var wanted = button.getAttribute("data-filter");
      buttons.forEach(function (b) { b.classList.toggle("active", b === button); });
      document.querySelectorAll(".card[data-indicator]").forEach(function (card) {
        var show = wanted === "all" || card.getAttribute("data-status") === wanted;
        card.classList.toggle("hidden", !show);
      });
    });
  });
  document.body.setAttribute("data-ready", "true");
});
