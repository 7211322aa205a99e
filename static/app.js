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

  // Toasts the server sends (an undo offer) leave by themselves.
  htmx.onLoad(function (root) {
    var toasts = root.matches && root.matches(".toast[data-autohide]")
      ? [root] : root.querySelectorAll(".toast[data-autohide]");
    Array.prototype.forEach.call(toasts, function (toast) {
      setTimeout(function () { toast.remove(); }, 10000);
    });
  });

  // --- The lead board -----------------------------------------------------
  // Cards are dragged between columns with SortableJS; a drop posts the new
  // status with the card's version. While a drop's request is in flight
  // every column is locked, so a quick second drag cannot duplicate a card.
  // A refused drop puts the card back where it came from (the server's
  // message is shown by the responseError toast above).
  var boardBusy = false;
  var boardRedrawWaiting = false;
  var cardJustDropped = false;

  // The click that ends a drag started on a card's name must not open the
  // contact; a plain click (no drag) still does.
  document.addEventListener("click", function (evt) {
    if (cardJustDropped && evt.target.closest && evt.target.closest(".card")) {
      evt.preventDefault();
      evt.stopPropagation();
    }
  }, true);

  function boardSortables() {
    return Array.prototype.map.call(document.querySelectorAll("[data-board-column]"),
      function (list) { return Sortable.get(list); }).filter(Boolean);
  }

  function lockBoard(locked) {
    boardBusy = locked;
    boardSortables().forEach(function (sortable) { sortable.option("disabled", locked); });
    if (!locked && boardRedrawWaiting) {
      boardRedrawWaiting = false;
      htmx.trigger(document.body, "board-refresh");
    }
  }

  function dropCard(evt) {
    var card = evt.item;
    var from = evt.from;
    var oldIndex = evt.oldIndex;
    if (evt.to === from) { return; }
    lockBoard(true);
    card.addEventListener("htmx:afterRequest", function (done) {
      if (!done.detail.successful) {
        from.insertBefore(card, from.children[oldIndex] || null);
        htmx.trigger(document.body, "board-refresh");
      }
      lockBoard(false);
    }, { once: true });
    // The column says what a drop changes: data-card-field names the card's
    // id (contact or company), data-target-field the new value (status or
    // category) and data-target-id its id.
    var values = { version: card.dataset[evt.to.dataset.versionAttr || "version"] };
    values[evt.to.dataset.cardField] = card.dataset.id;
    values[evt.to.dataset.targetField] = evt.to.dataset.targetId;
    htmx.ajax("POST", evt.to.dataset.moveUrl, {
      source: card,
      target: card,
      swap: "outerHTML",
      values: values,
      headers: { "X-CSRFToken": csrfToken() }
    });
  }

  htmx.onLoad(function (root) {
    if (typeof Sortable === "undefined") { return; }
    root.querySelectorAll("[data-board-column]").forEach(function (list) {
      if (Sortable.get(list)) { return; }
      Sortable.create(list, {
        // A column without a move URL (a deactivated owner's) takes no drops.
        group: { name: "board", put: list.hasAttribute("data-move-url") },
        draggable: ".card",
        // A card is dragged by any part of it, its name (a link) too; only the
        // "Move to…" menu is not a handle.
        filter: ".move-menu",
        preventOnFilter: false,
        forceFallback: true,
        animation: 120,
        onStart: function () { boardBusy = true; },
        onEnd: function (evt) {
          cardJustDropped = true;
          setTimeout(function () { cardJustDropped = false; }, 0);
          if (evt.to === evt.from) { lockBoard(false); return; }
          dropCard(evt);
        }
      });
    });
  });

  // Live redraws wait while a card is in the air or a drop is being saved.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt.matches && evt.detail.elt.matches("[data-board]") && boardBusy) {
      evt.preventDefault();
      boardRedrawWaiting = true;
    }
  });

  // Polling fallback for browsers without EventSource: ask the feed every
  // two seconds and raise the same "changed" event the SSE stream would.
  if (!window.EventSource && document.body.hasAttribute("sse-connect")) {
    var lastId = "";
    setInterval(function () {
      fetch("/events/poll?after=" + lastId, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (news) {
          if (lastId !== "" && (news.contacts.length || news.companies.length)) {
            document.querySelectorAll("[hx-trigger*='sse:changed']").forEach(function (elt) {
              htmx.trigger(elt, "sse:changed");
            });
          }
          lastId = news.last_id;
        })
        .catch(function () { /* the next round tries again */ });
    }, 2000);
  }

  window.tavla = { showToast: showToast };
})();
