// The conversation list: keyboard selection (j/k, Enter) and live refresh of its rows.
//
// A refresh re-renders the rows already shown (same filters, same count) plus the counts in
// the navigation, debounced so a burst of events costs one request.

const REFRESH_DELAY_MS = 250;

export class ConversationList {
  constructor(ul, { query, openId }) {
    this.ul = ul;
    this.query = query || "";
    this.openId = openId || null;
    this.selectedId = openId || null;
    this.timer = 0;
    this.running = null;
    this.again = false;
    this.markSelected(false);
  }

  rows() {
    return [...this.ul.querySelectorAll("li.row")];
  }

  selectedRow() {
    return this.rows().find((row) => Number(row.dataset.id) === this.selectedId) || null;
  }

  markSelected(focus) {
    for (const row of this.rows()) {
      const on = Number(row.dataset.id) === this.selectedId;
      row.classList.toggle("selected", on);
      if (on && focus) {
        row.querySelector("a").focus({ preventScroll: true });
        row.scrollIntoView({ block: "nearest" });
      }
    }
  }

  move(delta) {
    const rows = this.rows();
    if (!rows.length) return;
    let index = rows.findIndex((row) => Number(row.dataset.id) === this.selectedId);
    index = index < 0 ? (delta > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + delta));
    this.selectedId = Number(rows[index].dataset.id);
    this.markSelected(true);
  }

  open() {
    const row = this.selectedRow();
    if (row) window.location.assign(row.querySelector("a").href);
    return Boolean(row);
  }

  scheduleRefresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), REFRESH_DELAY_MS);
  }

  async refresh() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const shown = Math.min(100, Math.max(25, this.rows().length));
    const params = new URLSearchParams(this.query);
    params.set("refresh", "1");
    params.set("limit", String(shown));
    if (this.openId) params.set("open", String(this.openId));
    const hadFocus = this.ul.contains(document.activeElement);
    this.running = htmx
      .ajax("GET", "/inbox/rows?" + params.toString(), { target: this.ul, swap: "innerHTML" })
      .then(() => this.markSelected(hadFocus))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.scheduleRefresh();
        }
      });
    return this.running;
  }
}
