// Tavla's small client side: htmx does the work, this shows what went wrong.
(function () {
  "use strict";

  function showToast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box || !message) { return; }
    var toast = document.createElement("div");
    toast.className = "toast " + (kind || "error");
    toast.setAttribute("role", "alert");
    toast.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", document.body.dataset.closeLabel || "Close");
    close.textContent = "×";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(close);
    box.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  }

  // The server answers a failed htmx request with a small fragment holding
  // the message (templates/errors/_message.html); show its text.
  function messageFrom(xhr) {
    var text = xhr.responseText || "";
    var doc = new DOMParser().parseFromString(text, "text/html");
    var node = doc.querySelector(".error-message") || doc.body;
    var message = node ? node.textContent.trim() : "";
    return message || (xhr.status + " " + xhr.statusText);
  }

  document.addEventListener("htmx:responseError", function (evt) {
    showToast(messageFrom(evt.detail.xhr), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast(document.body.dataset.offlineMessage || "The server could not be reached.", "error");
  });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Drag-to-reorder lists: an element with data-sortable-url gets SortableJS;
  // after a drop the ids of its [data-id] children are posted in their new
  // order, and the answer replaces the element named by data-sortable-target.
  function initSortables(root) {
    if (typeof Sortable === "undefined") { return; }
    root.querySelectorAll("[data-sortable-url]").forEach(function (list) {
      if (list.dataset.sortableReady) { return; }
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        handle: ".handle",
        animation: 150,
        // The fallback drag (mouse and touch events instead of native HTML5
        // drag and drop) behaves the same on desktop and touch screens.
        forceFallback: true,
        onEnd: function (evt) {
          if (evt.oldIndex === evt.newIndex) { return; }
          var ids = Array.prototype.map.call(list.querySelectorAll("[data-id]"), function (row) {
            return row.dataset.id;
          });
          htmx.ajax("POST", list.dataset.sortableUrl, {
            source: list,
            target: list.dataset.sortableTarget || list,
            swap: "outerHTML",
            values: { order: ids },
            headers: { "X-CSRFToken": csrfToken() }
          });
        }
      });
    });
  }

  htmx.onLoad(initSortables);

  // A dialog the server marks data-autoshow (a rule's proposal, R17) opens
  // as a modal as soon as it arrives.
  htmx.onLoad(function (root) {
    var dialogs = root.matches && root.matches("dialog[data-autoshow]")
      ? [root] : root.querySelectorAll("dialog[data-autoshow]");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (!dialog.open) { dialog.showModal(); }
    });
  });

  // R18: the lead categorization form cannot be saved while a switched-on
  // rule has no target category (the server refuses it too).
  function checkRulesForm(form) {
    var missing = 0;
    form.querySelectorAll("[data-rule-row]").forEach(function (row) {
      var enabled = row.querySelector("[data-rule-enabled]").checked;
      var lacking = enabled && !row.querySelector("[data-rule-target]").value;
      row.querySelector(".rule-missing").hidden = !lacking;
      if (lacking) { missing += 1; }
    });
    form.querySelector("[data-rules-save]").disabled = missing > 0;
  }

  htmx.onLoad(function (root) {
    root.querySelectorAll("[data-rules-form]").forEach(function (form) {
      checkRulesForm(form);
      form.addEventListener("change", function () { checkRulesForm(form); });
    });
  });

  window.tavla = { showToast: showToast };
})();
