// The profile page: two-factor enrolment (QR code, confirm, recovery codes shown once), turning
// it off, the password change (then log in again) and signing sessions out.

import { api, toast } from "./api.js";
import { installChrome } from "./chrome.js";

installChrome();

function show(box, error) {
  box.textContent = error.message;
  box.hidden = false;
}

const totpError = document.getElementById("totp-error");
const start = document.getElementById("totp-start");
if (start) {
  start.addEventListener("click", async () => {
    totpError.hidden = true;
    try {
      const setup = await api("POST", "/api/v1/auth/totp/enrol");
      // The SVG is made by the hub from the otpauth URI (no user-supplied markup in it).
      document.getElementById("totp-qr").innerHTML = setup.qr_svg;
      document.getElementById("totp-secret").textContent = setup.secret;
      document.getElementById("totp-setup").hidden = false;
      start.hidden = true;
      document.getElementById("confirm-code").focus();
    } catch (error) {
      show(totpError, error);
    }
  });
}

const confirmForm = document.getElementById("totp-confirm");
if (confirmForm) {
  confirmForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    totpError.hidden = true;
    try {
      const done = await api("POST", "/api/v1/auth/totp/confirm", { code: confirmForm.elements.code.value });
      const list = document.getElementById("recovery-codes");
      list.replaceChildren(
        ...done.recovery_codes.map((c) => {
          const item = document.createElement("li");
          item.textContent = c;
          return item;
        }),
      );
      document.getElementById("totp-setup").hidden = true;
      document.getElementById("recovery").hidden = false;
    } catch (error) {
      show(totpError, error);
    }
  });
}

const disableForm = document.getElementById("totp-disable");
if (disableForm) {
  disableForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    totpError.hidden = true;
    try {
      await api("POST", "/api/v1/auth/totp/disable", {
        password: disableForm.elements.password.value,
        code: disableForm.elements.code.value,
      });
      window.location.reload();
    } catch (error) {
      show(totpError, error);
    }
  });
}

const passwordForm = document.getElementById("password-change");
passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("password-error");
  error.hidden = true;
  try {
    await api("POST", "/api/v1/auth/password", {
      current_password: passwordForm.elements.current_password.value,
      new_password: passwordForm.elements.new_password.value,
    });
    window.location.assign("/login");
  } catch (failure) {
    show(error, failure);
  }
});

document.getElementById("session-rows").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-revoke-session]");
  if (!button) return;
  try {
    await api("DELETE", `/api/v1/auth/sessions/${button.dataset.revokeSession}`);
    button.closest("tr").remove();
  } catch (error) {
    toast(error.message);
  }
});

document.getElementById("revoke-others").addEventListener("click", async () => {
  try {
    const done = await api("POST", "/api/v1/auth/sessions/revoke-others");
    document.querySelectorAll("[data-revoke-session]").forEach((b) => b.closest("tr").remove());
    toast(`${done.revoked} other session(s) signed out`);
  } catch (error) {
    toast(error.message);
  }
});
