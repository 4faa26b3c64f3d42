// Behaviour the pages used to carry in on…= attributes, which the Content-Security-Policy refuses:
//  <select data-autosubmit> sends its form when changed (the header's language switcher);
//  <form data-confirm="question"> asks before it is sent.
(function () {
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });
})();
