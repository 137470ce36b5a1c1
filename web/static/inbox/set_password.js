// The invitation page: posts the token and the new password, then continues to the login.
const form = document.getElementById("password-form");
const error = document.getElementById("password-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const response = await fetch(form.action, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: form.dataset.token, password: form.password.value }),
  });
  if (response.ok) {
    window.location.assign("/login");
    return;
  }
  const body = await response.json().catch(() => ({}));
  error.textContent = (body.error && body.error.message) || "That did not work";
  error.hidden = false;
});
