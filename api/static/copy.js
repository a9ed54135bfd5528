/*! Copyright Seal: copy buttons. A button with data-copy="ID" copies the text of element ID and says so. */
document.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("button[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el) return;
  var done = function () {
    var old = b.textContent;
    b.textContent = b.getAttribute("data-done") || "✓";
    setTimeout(function () { b.textContent = old; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(el.textContent).then(done);
  } else {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
    try { document.execCommand("copy"); done(); } catch (_) { /* the text stays selected for Ctrl-C */ }
  }
});
