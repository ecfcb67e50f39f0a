(function () {
  var script = document.currentScript;
  var origin = {{ origin|tojson }};
  var query = new URLSearchParams({ embed: "1", page: window.location.href.slice(0, 1000) });
  new URLSearchParams(window.location.search).forEach(function (value, name) {
    if (name.indexOf("utm_") === 0) query.set(name, value.slice(0, 200));
  });
  var frame = document.createElement("iframe");
  frame.src = {{ form_url|tojson }} + "?" + query.toString();
  frame.title = {{ title|tojson }};
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.minHeight = "480px";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== origin) return;
    var data = event.data || {};
    if (data.type === "marketplace:height" && data.height > 0) {
      frame.style.height = Math.min(data.height, 5000) + "px";
    } else if (data.type === "marketplace:redirect" && /^https?:\/\//.test(data.url)) {
      window.location.href = data.url;
    }
  });
})();
