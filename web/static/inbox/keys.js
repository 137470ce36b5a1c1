// Keyboard shortcuts: j/k move in the list, Enter opens, r reply, n note, e resolve,
// a assign, / search, x select for merging, m merge, ? shows them all. Typing in a field is
// never interpreted as a shortcut.

export function installShortcuts({ list, conversation, composer, merging }) {
  const dialog = document.getElementById("shortcuts");
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    const target = event.target instanceof Element ? event.target : document.body;
    const typing = target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
    if (event.key === "Escape") {
      if (typing) target.blur();
      return;
    }
    if (typing || (dialog && dialog.open)) return;
    switch (event.key) {
      case "j":
        list.move(1);
        break;
      case "k":
        list.move(-1);
        break;
      case "Enter":
        // A focused link or button does its own thing on Enter.
        if (target.closest("a, button, summary") || !list.open()) return;
        break;
      case "r":
        if (!composer) return;
        composer.focus("reply");
        break;
      case "n":
        if (!composer) return;
        composer.focus("note");
        break;
      case "e":
        if (!conversation) return;
        conversation.toggleResolved();
        break;
      case "a":
        if (!conversation) return;
        conversation.focusAssign();
        break;
      case "x":
        if (!merging) return;
        merging.toggleCurrentRow();
        break;
      case "m":
        if (!merging) return;
        merging.open();
        break;
      case "/": {
        const search = document.getElementById("search");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "?":
        if (dialog) dialog.showModal();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
}
