// The Jupyter widgets HTML manager (1.x) typesets widget labels through the MathJax 2 API
// (MathJax.Hub.Queue); this site serves MathJax 3. Forward those calls to MathJax 3.
(function () {
  function install() {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      mj.Hub = { Queue: function () { if (mj.typesetPromise) { mj.typesetPromise(); } } };
    }
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
  window.addEventListener("load", install);
})();
