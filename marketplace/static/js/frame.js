// Inside the capture iframe: tell the embedding page our height, and where to go
// after the form when the publisher chose a redirect. Neither is secret, so any
// parent origin may hear it; the embed script only listens to its own iframe.
(function () {
  if (window.parent === window) return;
  function postHeight() {
    window.parent.postMessage(
      { type: "marketplace:height", height: document.documentElement.scrollHeight },
      "*"
    );
  }
  window.addEventListener("load", postHeight);
  if (window.ResizeObserver) new ResizeObserver(postHeight).observe(document.body);
  var redirect = document.body.getAttribute("data-redirect");
  if (redirect) window.parent.postMessage({ type: "marketplace:redirect", url: redirect }, "*");
})();
