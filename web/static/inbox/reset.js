// Password reset: ask for a link (the answer is the same for every address), then set the new
// password with the link's token and continue to the login.
async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { response, message: (data.error && data.error.message) || "That did not work" };
}

const forgot = document.getElementById("forgot-form");
if (forgot) {
  forgot.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("forgot-error");
    error.hidden = true;
    const { response, message } = await post(forgot.action, { email: forgot.email.value });
    if (response.ok) {
      document.getElementById("forgot-done").hidden = false;
      return;
    }
    error.textContent = message;
    error.hidden = false;
  });
}

const reset = document.getElementById("reset-form");
if (reset) {
  reset.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("reset-error");
    error.hidden = true;
    const { response, message } = await post(reset.action, {
      token: reset.dataset.token,
      password: reset.password.value,
    });
    if (response.ok) {
      window.location.assign("/login");
      return;
    }
    error.textContent = message;
    error.hidden = false;
  });
}
