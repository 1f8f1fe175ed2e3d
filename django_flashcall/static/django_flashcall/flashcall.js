/* django-flashcall: progressive enhancement of the code page.
 * The page works without it. With it:
 *  - [data-countdown="N"] counts N seconds down (m:ss, like the server renders it);
 *  - [data-wait="N"] buttons are enabled after N seconds (the resend cooldown);
 *  - [data-hide-after="N"] elements are hidden after N seconds;
 *  - input[data-autosubmit="4"] submits its form once 4 digits are typed;
 *  - a form is not submitted twice. */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function timers() {
    var items = [];
    function collect(selector, attr, apply) {
      var nodes = document.querySelectorAll(selector);
      for (var i = 0; i < nodes.length; i++) {
        items.push({ node: nodes[i], seconds: parseInt(nodes[i].getAttribute(attr), 10) || 0, apply: apply });
      }
    }
    collect("[data-countdown]", "data-countdown", function (node, left) { node.textContent = clock(left); });
    collect("[data-wait]", "data-wait", function (node, left) { if (left === 0) { node.disabled = false; } });
    collect("[data-hide-after]", "data-hide-after", function (node, left) { if (left === 0) { node.hidden = true; } });
    if (!items.length) { return; }
    var start = Date.now(), timer = null;
    function tick() {
      var elapsed = Math.floor((Date.now() - start) / 1000), running = false;
      for (var i = 0; i < items.length; i++) {
        var left = Math.max(0, items[i].seconds - elapsed);
        items[i].apply(items[i].node, left);
        if (left > 0) { running = true; }
      }
      if (!running && timer !== null) { clearInterval(timer); }
    }
    tick();
    timer = setInterval(tick, 250);
  }

  function submitOnce(form) {
    if (form.getAttribute("data-submitted")) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function autosubmit() {
    var inputs = document.querySelectorAll("input[data-autosubmit]");
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].addEventListener("input", function (event) {
        var input = event.target, length = parseInt(input.getAttribute("data-autosubmit"), 10) || 4;
        var digits = input.value.replace(/\D/g, "");
        if (digits !== input.value) { input.value = digits.slice(0, length); }
        if (digits.length >= length && input.form) { submitOnce(input.form); }
      });
    }
  }

  function noDoubleSubmit() {
    var forms = document.querySelectorAll("form.fc-form, form.fc-resend");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function (event) {
        var form = event.currentTarget;
        if (form.getAttribute("data-submitted")) { event.preventDefault(); return; }
        form.setAttribute("data-submitted", "1");
      });
    }
  }

  function init() { timers(); autosubmit(); noDoubleSubmit(); }

  // A page restored from the back/forward cache may submit again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    var forms = document.querySelectorAll("form[data-submitted]");
    for (var i = 0; i < forms.length; i++) { forms[i].removeAttribute("data-submitted"); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
