// The login form posts JSON to the API, then continues to the page the agent came from. For an
// agent with two-factor on, the answer asks for the code: the second form sends it.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const codeForm = document.getElementById("code-form");
const codeError = document.getElementById("code-error");

function proceed(target) {
  // The server only ever renders a path on this site here (never //host or a URL).
  window.location.assign(target || "/inbox");
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { response, data };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { response, data } = await post(form.action, {
      email: form.email.value,
      password: form.password.value,
    });
    if (response.ok && data.two_factor_required) {
      form.hidden = true;
      codeForm.hidden = false;
      codeForm.elements.code.focus();
      return;
    }
    if (response.ok) {
      proceed(form.dataset.next);
      return;
    }
    error.textContent = (data.error && data.error.message) || "Login failed";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});

codeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  codeError.hidden = true;
  const button = codeForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const { response, data } = await post(codeForm.action, { code: codeForm.elements.code.value });
    if (response.ok) {
      proceed(codeForm.dataset.next);
      return;
    }
    if (data.error && data.error.code === "no_pending_login") {
      codeForm.hidden = true;
      form.hidden = false;
      error.textContent = data.error.message;
      error.hidden = false;
      return;
    }
    codeError.textContent = (data.error && data.error.message) || "That code did not work";
    codeError.hidden = false;
    codeForm.elements.code.select();
  } finally {
    button.disabled = false;
  }
});

// Back to the password form (the pending login simply expires).
document.getElementById("restart").addEventListener("click", () => {
  codeForm.hidden = true;
  form.hidden = false;
  form.email.focus();
});
