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

  // Focus in a toast when it goes (closed, timed out, replaced after an Undo) returns
  // to where it was before it entered the toasts, or to the page's content: never to
  // nothing. A board card redrawn meanwhile gets it on its menu button again.
  var beforeToasts = null;
  var beforeToastsCard = null;

  document.addEventListener("focusin", function (evt) {
    var box = document.getElementById("toasts");
    var from = evt.relatedTarget;
    if (!box || !box.contains(evt.target) || (from && box.contains(from))) { return; }
    beforeToasts = from;
    var card = from && from.closest && from.closest("li.card[id]");
    beforeToastsCard = card ? card.id : null;
  });

  function focusAfterToast() {
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) { return; }
    // A card's redraw after the toast's request (Undo) keeps the focus on that card.
    focusCard = beforeToastsCard;
    if (beforeToasts && document.contains(beforeToasts)) {
      beforeToasts.focus();
    } else if (!(beforeToastsCard && focusCardMenu(beforeToastsCard))) {
      var main = document.getElementById("main");
      if (main) { main.focus(); }
    }
  }

  // Whatever takes a toast away, focus that was in it is put back.
  var focusInToasts = false;
  document.addEventListener("focusin", function (evt) {
    var box = document.getElementById("toasts");
    focusInToasts = Boolean(box && box.contains(evt.target));
  });
  if (document.getElementById("toasts") && window.MutationObserver) {
    new MutationObserver(function () {
      if (focusInToasts && !document.getElementById("toasts").contains(document.activeElement)) {
        focusInToasts = false;
        focusAfterToast();
      }
    }).observe(document.getElementById("toasts"), { childList: true, subtree: true });
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

  // On a phone the main menu folds behind a button; it opens and closes by
  // touch or keyboard, and Escape closes it.
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest && evt.target.closest("[data-menu-toggle]");
    if (!toggle) { return; }
    toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
  });
  document.addEventListener("keydown", function (evt) {
    var toggle = document.querySelector("[data-menu-toggle][aria-expanded='true']");
    if (evt.key === "Escape" && toggle) {
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    }
  });

  // A button with data-copy copies the text of the element it names (a web form's
  // snippet) and says so in the status line beside it.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.dataset.copy);
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!source) { return; }
    function copied() { if (status) { status.textContent = button.dataset.copied; } }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value || source.textContent).then(copied);
    } else {
      source.select();
      if (document.execCommand("copy")) { copied(); }
    }
  });

  // A link with data-focus-target puts the focus on that field once it has scrolled to it.
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest("a[data-focus-target]");
    var field = link && document.querySelector(link.dataset.focusTarget);
    if (field) { evt.preventDefault(); field.scrollIntoView({ block: "center" }); field.focus(); }
  });

  // Animations last `ms`, or nothing for people who asked their system for less motion.
  function motion(ms) {
    return window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : ms;
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
        animation: motion(150),
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

  // A modal dialog keeps the focus: Tab past its last control comes back to its first,
  // Shift+Tab before its first goes to its last (the browser would leave the page).
  document.addEventListener("keydown", function (evt) {
    var dialog = document.querySelector("dialog[open]");
    if (evt.key !== "Tab" || !dialog) { return; }
    var stops = Array.prototype.filter.call(dialog.querySelectorAll(
      "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
      "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"),
    function (node) { return node.getClientRects().length > 0; });
    if (!stops.length) { return; }
    var first = stops[0];
    var last = stops[stops.length - 1];
    var inside = dialog.contains(document.activeElement);
    if (evt.shiftKey && (!inside || document.activeElement === first)) {
      evt.preventDefault();
      last.focus();
    } else if (!evt.shiftKey && (!inside || document.activeElement === last)) {
      evt.preventDefault();
      first.focus();
    }
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
    if (!locked) { askBoard(); }
  }

  function dropCard(evt) {
    var card = evt.item;
    var from = evt.from;
    var oldIndex = evt.oldIndex;
    if (evt.to === from) { return; }
    movedCard = card.id;
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
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        // A column without a move URL (a deactivated owner's) takes no drops.
        group: { name: "board", put: list.hasAttribute("data-move-url") },
        draggable: ".card",
        // A card is dragged by any part of it, its name (a link) too; only the
        // "Move to…" menu is not a handle.
        filter: ".move-menu",
        preventOnFilter: false,
        forceFallback: true,
        animation: motion(120),
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

  // On a phone a board shows one column at a time; the switcher's buttons
  // choose it, and the choice outlives the board's redraws.
  var shownColumn = null;

  function showColumn(board, key) {
    var section = board.querySelector("[data-column-section='" + key + "']");
    if (!section) { return; }
    shownColumn = key;
    board.querySelectorAll("[data-column-section]").forEach(function (other) {
      other.classList.toggle("shown", other === section);
    });
    board.querySelectorAll("[data-show-column]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.showColumn === key ? "true" : "false");
    });
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-show-column]");
    var board = button && button.closest("[data-board]");
    if (board) { showColumn(board, button.dataset.showColumn); }
  });

  htmx.onLoad(function (root) {
    var board = root.matches && root.matches("[data-board]") ? root : root.querySelector("[data-board]");
    if (board && shownColumn !== null) { showColumn(board, shownColumn); }
  });

  // The board's side panel: a card's name opens the contact in #card-preview
  // (?contact=<id> in the address bar, so Back closes it). Focus moves into the
  // panel, and back to the card's name when it closes (its Close button,
  // Escape, or Back, which redraws the page).
  var previewedCard = null;

  htmx.onLoad(function (root) {
    var panel = root.id === "card-preview" ? root : root.querySelector && root.querySelector("#card-preview");
    if (!panel) { return; }
    if (panel.hasAttribute("data-preview")) {
      previewedCard = panel.dataset.preview;
      panel.focus();
    } else if (previewedCard !== null) {
      var name = document.querySelector("#card-" + previewedCard + " .card-name");
      var section = name && name.closest("[data-column-section]");
      previewedCard = null;
      if (!name) { return; }
      // On a phone the card may have moved to a column not shown: show it.
      if (section && !section.classList.contains("shown")) {
        showColumn(section.closest("[data-board]"), section.dataset.columnSection);
      }
      name.focus();
    }
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || document.querySelector("dialog[open]")) { return; }
    var close = document.querySelector("#card-preview[data-preview] [data-preview-close]");
    if (close) { close.click(); }
  });

  // Focus after a move. A card moved from its "Move to…" menu is redrawn (and the
  // board with it), which takes the focus away: it goes back to the card's menu button.
  // The rule's dialog a move may open (R17) gives the focus back to the moved card
  // when it closes, also after its answer reloads the page.
  var movedCard = null;   // the id of the card whose move was sent last
  var focusCard = null;   // ... while the focus belongs on it
  var FOCUS_AFTER_RELOAD = "tavla-focus-card";

  // The card's menu button takes the focus, if the card is on screen: on a phone a
  // card moved to another column stays out of sight, as the rep's chosen column stays.
  function focusCardMenu(id) {
    var button = document.querySelector("#" + id + " summary");
    if (!button || !button.getClientRects().length) { return false; }
    button.focus();
    return true;
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    var card = elt && elt.closest && elt.closest("li.card[id]");
    if (card && elt.closest(".move-options")) {
      movedCard = card.id;
      if (card.contains(document.activeElement)) { focusCard = card.id; }
    }
    var dialog = elt && elt.closest && elt.closest("dialog[data-return-focus]");
    if (dialog) { sessionStorage.setItem(FOCUS_AFTER_RELOAD, dialog.dataset.returnFocus); }
  });

  // A refused answer leaves the dialog open: no reload to carry the focus over.
  document.addEventListener("htmx:responseError", function () {
    sessionStorage.removeItem(FOCUS_AFTER_RELOAD);
  });

  document.addEventListener("focusin", function (evt) {
    if (focusCard && !(evt.target.closest && evt.target.closest("#" + focusCard))) {
      focusCard = null;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (!focusCard || document.querySelector("dialog[open]") ||
        (active && active !== document.body && document.contains(active))) { return; }
    if (!focusCardMenu(focusCard) && document.getElementById("main")) {
      document.getElementById("main").focus();
    }
  });

  htmx.onLoad(function (root) {
    var dialogs = root.matches && root.matches("dialog[data-autoshow]")
      ? [root] : root.querySelectorAll("dialog[data-autoshow]");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (!movedCard) { return; }
      dialog.dataset.returnFocus = movedCard;
      dialog.addEventListener("close", function () {
        sessionStorage.removeItem(FOCUS_AFTER_RELOAD);
        if (focusCardMenu(dialog.dataset.returnFocus)) { focusCard = dialog.dataset.returnFocus; }
      });
    });
    // After the answer's reload: on the card, or on the page's content when the
    // card left the board (its company's new category has no lead status).
    var afterReload = sessionStorage.getItem(FOCUS_AFTER_RELOAD);
    if (afterReload && root === document.body) {
      sessionStorage.removeItem(FOCUS_AFTER_RELOAD);
      if (focusCardMenu(afterReload)) {
        focusCard = afterReload;
      } else if (document.getElementById("main")) {
        document.getElementById("main").focus();
      }
    }
  });

  // Live redraws wait while a card is in the air or a drop is being saved.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt.matches && evt.detail.elt.matches("[data-board]") && boardBusy) {
      evt.preventDefault();
      boardRedrawWaiting = true;
    }
  });

  // --- The live feed ------------------------------------------------------
  // A page with body[sse-connect] holds an event stream (htmx's SSE
  // extension). Each "changed" event becomes a "tavla:changed" event on the
  // document carrying what changed (contacts, companies, owners, or "all");
  // the board and the dashboard below decide whether it concerns them.
  // A server past its limit of streams answers "busy": the page then asks
  // /events/poll every half minute and says so. Browsers without
  // EventSource ask every few seconds.
  var feedUrl = document.body.getAttribute("sse-connect");
  var feedLastId = "";
  var feedSources = [];

  function announce(news) {
    document.dispatchEvent(new CustomEvent("tavla:changed", { detail: news }));
    // A change that names this user (a lead given to them) may have brought a
    // notice: the header's bell asks for its count (views.notices.bell_trigger).
    var me = Number(document.body.dataset.userId);
    if (news.all || (news.owners || []).indexOf(me) >= 0) {
      document.dispatchEvent(new CustomEvent("tavla:notices"));
    }
  }

  function pollFeed(seconds) {
    setInterval(function () {
      fetch(feedUrl + "/poll?after=" + encodeURIComponent(feedLastId), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (news) {
          if (!news) { return; }
          if (feedLastId !== "" && (news.all || news.contacts.length || news.companies.length)) {
            announce(news);
          }
          feedLastId = String(news.last_id);
        })
        .catch(function () { /* the next round tries again */ });
    }, seconds * 1000);
  }

  function showLiveNote(message) {
    if (!message || document.getElementById("live-note")) { return; }
    var note = document.createElement("p");
    note.id = "live-note";
    note.className = "live-note";
    note.setAttribute("role", "status");
    note.textContent = message;
    var main = document.querySelector("main") || document.body;
    main.insertBefore(note, main.firstChild);
  }

  document.addEventListener("htmx:sseOpen", function (evt) {
    var source = evt.detail.source;
    if (!source || feedSources.indexOf(source) >= 0) { return; }
    feedSources.push(source);
    source.addEventListener("changed", function (message) {
      feedLastId = message.lastEventId || feedLastId;
      try { announce(JSON.parse(message.data)); } catch (ignored) { /* not our event */ }
    });
    // The stream fell further behind than the server remembers.
    source.addEventListener("reload", function () { announce({ all: true }); });
    source.addEventListener("busy", function () {
      source.close();
      showLiveNote(document.body.dataset.liveBusy);
      pollFeed(Number(document.body.dataset.liveBusySeconds) || 30);
    });
  });

  if (feedUrl && !window.EventSource) { pollFeed(3); }

  // The board: the cards a change concerns are asked for and put in place;
  // a change of many leads at once redraws the columns.
  var boardNews = { contacts: {}, companies: {}, all: false };
  var boardAsking = false;

  function liveBoard() { return document.querySelector("[data-board][data-live-url]"); }

  document.addEventListener("tavla:changed", function (evt) {
    var board = liveBoard();
    if (!board) { return; }
    var news = evt.detail;
    if (news.all) {
      boardNews.all = true;
    } else {
      var owner = board.dataset.liveOwner;
      var mine = owner === "all" || (news.owners || []).indexOf(Number(owner)) >= 0;
      (news.contacts || []).forEach(function (id) {
        if (mine || document.getElementById("card-" + id)) { boardNews.contacts[id] = true; }
      });
      if (mine) {
        (news.companies || []).forEach(function (id) { boardNews.companies[id] = true; });
      }
    }
    askBoard();
  });

  function askBoard() {
    var board = liveBoard();
    if (!board || boardAsking) { return; }
    if (boardBusy) { return; }  // asked again when the drop is done (lockBoard)
    var contacts = Object.keys(boardNews.contacts);
    var companies = Object.keys(boardNews.companies);
    if (boardNews.all || contacts.length > 200 || companies.length > 200) {
      boardNews = { contacts: {}, companies: {}, all: false };
      htmx.trigger(document.body, "board-refresh");
      return;
    }
    if (!contacts.length && !companies.length) { return; }
    boardNews = { contacts: {}, companies: {}, all: false };
    boardAsking = true;
    var url = board.dataset.liveUrl + (board.dataset.liveUrl.indexOf("?") >= 0 ? "&" : "?") +
      "contacts=" + contacts.join(",") + "&companies=" + companies.join(",");
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) { if (html) { applyBoardChanges(html); } })
      .catch(function () { /* the next change asks again */ })
      .then(function () { boardAsking = false; askBoard(); });
  }

  function compareKeys(a, b) {
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] < b[i]) { return -1; }
      if (a[i] > b[i]) { return 1; }
    }
    return a.length - b.length;
  }

  // A card goes before the first card that comes after it in the board's
  // sort; after the last one only when the column is shown to its end.
  function placeCard(board, card) {
    var old = document.getElementById(card.id);
    if (old && old.outerHTML === card.outerHTML) { return; }
    if (old) { old.remove(); }
    var list = board.querySelector("ol[data-column-key='" + card.dataset.column + "']");
    if (!list) { return; }
    var key = JSON.parse(card.dataset.sort);
    var direction = board.dataset.sortDir === "desc" ? -1 : 1;
    var cards = list.querySelectorAll(":scope > li.card");
    for (var i = 0; i < cards.length; i++) {
      if (direction * compareKeys(key, JSON.parse(cards[i].dataset.sort)) < 0) {
        list.insertBefore(card, cards[i]);
        htmx.process(card);
        return;
      }
    }
    if (!list.querySelector(":scope > li.more")) {
      list.appendChild(card);
      htmx.process(card);
    }
  }

  // A card someone else moved to another column, said in the polite live region.
  function announceMove(board, card) {
    var announcer = document.getElementById("announcer");
    var list = board.querySelector("ol[data-column-key='" + card.dataset.column + "']");
    var section = list && list.closest("section");
    var name = card.querySelector(".card-name");
    if (!announcer || !section || !name) { return; }
    announcer.textContent = announcer.dataset.moved
      .replace("{name}", name.textContent.trim())
      .replace("{column}", section.getAttribute("aria-label"));
  }

  function applyBoardChanges(html) {
    var board = liveBoard();
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var changes = holder.querySelector("template.board-changes");
    if (!board || !changes) { return; }
    if (changes.hasAttribute("data-redraw")) {
      htmx.trigger(document.body, "board-refresh");
      return;
    }
    changes.content.querySelectorAll("[data-count-key]").forEach(function (fresh) {
      var list = board.querySelector("ol[data-column-key='" + fresh.dataset.countKey + "']");
      var count = list && list.closest("section").querySelector(".count");
      if (count) { count.textContent = fresh.textContent; }
      var switchCount = board.querySelector("[data-switch-count='" + fresh.dataset.countKey + "']");
      if (switchCount) { switchCount.textContent = fresh.textContent; }
    });
    var shown = {};
    changes.content.querySelectorAll("li.card").forEach(function (card) {
      shown[card.dataset.id] = true;
      var before = document.getElementById(card.id);
      var from = before && before.dataset.column;
      placeCard(board, document.importNode(card, true));
      if (from && from !== card.dataset.column) { announceMove(board, card); }
    });
    (changes.dataset.lookedAt || "").split(",").forEach(function (id) {
      var old = id && !shown[id] && document.getElementById("card-" + id);
      if (old) { old.remove(); }
    });
  }

  // The company board redraws when a company changes category.
  document.addEventListener("tavla:changed", function (evt) {
    var board = document.querySelector("[data-board][data-live-companies]");
    if (board && (evt.detail.all || (evt.detail.companies || []).length)) {
      htmx.trigger(document.body, "board-refresh");
    }
  });

  // Dashboards: one request for all the tiles on screen, naming what each
  // shows; only the tiles whose figures changed come back. One at a time:
  // news that comes meanwhile asks once more afterwards.
  var tilesAsking = false;
  var tilesAgain = false;

  function refreshTiles() {
    var box = document.querySelector("[data-live-tiles]");
    if (!box) { return; }
    if (tilesAsking) { tilesAgain = true; return; }
    var shown = Array.prototype.map.call(box.querySelectorAll(".tile[data-fingerprint]"),
      function (tile) { return "fp=" + encodeURIComponent(tile.dataset.id + ":" + tile.dataset.fingerprint); });
    if (!shown.length) { return; }
    tilesAsking = true;
    htmx.ajax("GET", box.dataset.refreshUrl + "?" + shown.join("&"), { source: box, swap: "none" })
      .catch(function () { /* the next change asks again */ })
      .then(function () {
        tilesAsking = false;
        if (tilesAgain) { tilesAgain = false; refreshTiles(); }
      });
  }

  document.addEventListener("tavla:changed", refreshTiles);
  // What the feed does not carry (the date, a renamed status) each minute.
  if (document.querySelector("[data-live-tiles]")) { setInterval(refreshTiles, 60000); }

  window.tavla = { showToast: showToast };

  // Once htmx has taken in the page (its own DOMContentLoaded listener came
  // first), <html data-ready> says so: the browser tests act only after it.
  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.dataset.ready = "";
  });
})();
