// The kiosk's thank-you page: back to the first screen after a while without touches, so the
// next visitor starts fresh. The address and the wait come from this script element's data-*.
(function () {
  var me = document.currentScript;
  var url = me.getAttribute("data-kiosk-url");
  var wait = 1000 * Number(me.getAttribute("data-idle-seconds") || 45);
  var timer;
  function reset() {
    clearTimeout(timer);
    timer = setTimeout(function () { window.location.href = url; }, wait);
  }
  ["keydown", "pointerdown", "input"].forEach(function (e) { document.addEventListener(e, reset); });
  reset();
})();
