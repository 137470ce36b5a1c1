// The login form posts JSON to the API, then continues to the page the agent came from.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    if (response.ok) {
      // The server only ever renders a path on this site here (never //host or a URL).
      window.location.assign(form.dataset.next || "/inbox");
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = (body.error && body.error.message) || "Login failed";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
