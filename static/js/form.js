// Progressive enhancement for the registration form and the credentials page.
// Every page works without it: the server renders the consent preview, checks the logo and
// shows the secret. This script only makes those things quicker to see.
"use strict";
(function () {
  // After a refused submit, take keyboard and screen-reader users to the list of problems.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  var form = document.querySelector("form.registration");
  var preview = document.querySelector("[data-consent-preview]");
  if (form && preview) livePreview(form, preview);

  document.querySelectorAll("[data-copy]").forEach(copyButton);

  // The consent preview follows the form as the partner types and picks scopes.
  function livePreview(form, preview) {
    var field = function (name) { return form.elements.namedItem(name); };

    function isWebLink(value) {
      return /^https?:\/\/\S+$/i.test(value);
    }

    function updateName() {
      var name = field("client_name").value.trim();
      preview.querySelector("[data-preview-name]").textContent = name || "Your application";
    }

    // A link in the preview when the value is a web address, plain text otherwise.
    function updateLink(name, hook, label) {
      var value = field(name).value.trim();
      var current = preview.querySelector("[" + hook + "]");
      var wanted = isWebLink(value) ? "A" : "SPAN";
      var node = current;
      if (current.tagName !== wanted) {
        node = document.createElement(wanted.toLowerCase());
        node.setAttribute(hook, "");
        node.textContent = label;
        current.replaceWith(node);
      }
      if (wanted === "A") {
        node.href = value;
        node.rel = "noopener noreferrer";
      }
    }

    function updateScopes() {
      var list = preview.querySelector("[data-preview-scopes]");
      var items = [];
      form.querySelectorAll("input[name=scopes]:checked").forEach(function (box) {
        var li = document.createElement("li");
        li.append(box.dataset.description || box.value, " ");
        var code = document.createElement("span");
        code.className = "scope-name";
        code.textContent = box.value;
        li.append(code);
        items.push(li);
      });
      if (items.length === 0) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "No scopes chosen yet.";
        items.push(none);
      }
      list.replaceChildren.apply(list, items);
    }

    var updates = {
      client_name: updateName,
      tos_uri: function () { updateLink("tos_uri", "data-preview-tos", "Terms of service"); },
      policy_uri: function () { updateLink("policy_uri", "data-preview-policy", "Privacy policy"); },
      scopes: updateScopes
    };
    var onEdit = function (event) {
      var update = updates[event.target.name];
      if (update) update();
    };
    form.addEventListener("input", onEdit);
    form.addEventListener("change", onEdit);
    // The browser may have restored values (back button): start from what the form holds.
    Object.keys(updates).forEach(function (name) { updates[name](); });

    var logoInput = form.querySelector("[data-logo-input]");
    var report = form.querySelector("[data-logo-local]");
    if (logoInput && report) localLogo(logoInput, report, preview);
  }

  // Show the chosen logo file in the preview before it is uploaded, with its measured size.
  // The server checks it again on submit; this only saves a round trip.
  function localLogo(input, report, preview) {
    var MAX_BYTES = 1024 * 1024;
    var objectUrl = null;
    var serverLogo = preview.querySelector("[data-preview-logo]");
    var serverSrc = serverLogo ? serverLogo.getAttribute("src") : null;

    report.hidden = false;
    if (report.id) {
      var described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", (described ? described + " " : "") + report.id);
    }

    function say(text, bad) {
      report.textContent = text;
      report.classList.toggle("logo-local--bad", Boolean(bad));
    }

    function showInPreview(src) {
      var current = preview.querySelector("[data-preview-logo], [data-preview-logo-empty]");
      if (src === null) {
        if (current && current.hasAttribute("data-preview-logo")) {
          var empty = document.createElement("span");
          empty.className = "consent__logo consent__logo--empty";
          empty.setAttribute("data-preview-logo-empty", "");
          empty.textContent = "Logo";
          current.replaceWith(empty);
        }
        return;
      }
      var img = current;
      if (!current || !current.hasAttribute("data-preview-logo")) {
        img = document.createElement("img");
        img.className = "consent__logo";
        img.alt = "";
        img.width = 64;
        img.height = 64;
        img.setAttribute("data-preview-logo", "");
        if (current) current.replaceWith(img);
      }
      img.src = src;
    }

    function forget() {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
    }

    input.addEventListener("change", function () {
      forget();
      var file = input.files && input.files[0];
      if (!file) {
        say("", false);
        showInPreview(serverSrc);
        return;
      }
      if (file.type === "image/svg+xml" || /\.svg$/i.test(file.name)) {
        say("SVG can carry scripts; choose a PNG, JPEG or WebP file.", true);
        showInPreview(serverSrc);
        return;
      }
      objectUrl = URL.createObjectURL(file);
      var probe = new Image();
      probe.onload = function () {
        var w = probe.naturalWidth;
        var h = probe.naturalHeight;
        var size = w + "×" + h + " pixels";
        var problems = [];
        if (w !== h) problems.push("not square: the logo must be 1:1");
        if (Math.min(w, h) < 128) problems.push("too small: at least 128×128 pixels");
        if (Math.max(w, h) > 4096) problems.push("too large: at most 4096×4096 pixels");
        if (file.size > MAX_BYTES) problems.push("the file is over 1 MiB");
        if (problems.length) {
          say(file.name + ": " + size + ", " + problems.join("; ") + ".", true);
        } else {
          say(file.name + ": " + size + ", square. It is checked again when you submit.", false);
        }
        showInPreview(objectUrl);
      };
      probe.onerror = function () {
        say(file.name + " does not look like a PNG, JPEG or WebP image.", true);
        showInPreview(serverSrc);
      };
      probe.src = objectUrl;
    });
  }

  // The copy button next to the secret (hidden without this script).
  function copyButton(button) {
    var source = document.getElementById(button.dataset.copy);
    var status = document.querySelector("[data-copy-status]");
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var report = function (message) { if (status) status.textContent = message; };
      var selectIt = function () {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        report("Your browser did not allow copying. The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
      };
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        selectIt();
        return;
      }
      navigator.clipboard.writeText(text).then(function () {
        report("Copied to the clipboard.");
      }, selectIt);
    });
  }
})();
