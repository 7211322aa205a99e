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

  window.tavla = { showToast: showToast };
})();
