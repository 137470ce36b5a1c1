// The overview's charts, drawn with the vendored Chart.js from the JSON the page embeds.
const holder = document.getElementById("report-data");
if (holder && window.Chart) {
  const data = JSON.parse(holder.textContent);
  const labels = data.periods.map((p) => p.period);
  const minutes = (v) => (v === null ? null : Math.round(v / 6) / 10);
  const draw = (id, type, datasets, extra = {}) =>
    new window.Chart(document.getElementById(id), {
      type,
      data: { labels: extra.labels || labels, datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, ...extra.options },
    });
  draw("chart-volume", "line", [
    { label: "Created", data: data.periods.map((p) => p.created), borderColor: "#2563eb" },
    { label: "Resolved", data: data.periods.map((p) => p.resolved), borderColor: "#16a34a" },
    { label: "Reopened", data: data.periods.map((p) => p.reopened), borderColor: "#dc2626" },
  ]);
  draw("chart-backlog", "bar", [
    { label: "Open", data: data.periods.map((p) => p.backlog), backgroundColor: "#f59e0b" },
  ]);
  draw("chart-frt", "line", [
    { label: "Median", data: data.periods.map((p) => minutes(p.first_response_median)), borderColor: "#7c3aed" },
    { label: "p90", data: data.periods.map((p) => minutes(p.first_response_p90)), borderColor: "#db2777" },
  ]);
  const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const hours = Array.from({ length: 24 }, (_, h) => `${h}`);
  draw(
    "chart-hours",
    "bar",
    data.busiest_hours.map((row, d) => ({
      label: days[d],
      data: row,
      backgroundColor: `hsl(${210 + d * 20} 70% ${40 + d * 5}%)`,
    })),
    { labels: hours, options: { scales: { x: { stacked: true }, y: { stacked: true } } } },
  );
  document.body.dataset.chartsReady = "yes";
}
