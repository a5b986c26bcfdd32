// Reads from the server: JSON and text, with the API key of this tab when reads are protected.
// /health (always open) says whether a key is needed, so the page asks for it before its first read
// instead of showing the user a 401.

const KEY = "lineage.apiKey";
let protectedReads = null;
let asking = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function readsNeedKey() {
  if (protectedReads === null) {
    const response = await fetch("/health", { headers: { Accept: "application/json" } });
    const body = response.ok ? await response.json() : {};
    protectedReads = Boolean(body.readsProtected);
  }
  return protectedReads;
}

function askForKey(message) {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-message").textContent =
    message || "This server protects its reads. Enter an API key: it is kept for this tab only.";
  asking = new Promise((resolve, reject) => {
    const done = (key) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.close();
      asking = null;
      if (key) resolve(key);
      else reject(new ApiError(401, { message: "no API key was given" }));
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      input.value = "";
      done(key);
    };
    const onCancel = () => done(null);
    const cancel = document.getElementById("key-cancel");
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

async function request(path) {
  const needKey = await readsNeedKey();
  for (;;) {
    const headers = { Accept: "application/json" };
    let key = sessionStorage.getItem(KEY);
    if (needKey && !key) key = await askForKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { headers });
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(KEY);
      protectedReads = true;
      await askForKey(response.status === 403 ? "That key was refused: try another." : "");
      continue;
    }
    return response;
  }
}

export async function getJSON(path) {
  const response = await request(path);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function getText(path) {
  const response = await request(path);
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, { message: text });
  return text;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
