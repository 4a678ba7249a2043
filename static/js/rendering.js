// The "Preparing the PDF" page: asks every two seconds whether the PDF is ready
// (a HEAD request to the same address: 202 while rendering) and downloads it when
// it is, instead of reloading the whole page each time, which would make a screen
// reader start the page again. Progress goes to a polite status line, seldom.
import { t } from "./i18n.js";

const status = document.querySelector("[data-render-status]");
const started = Date.now();
let told = 0;

async function poll() {
  let answer = null;
  try {
    answer = await fetch(location.href, { method: "HEAD", cache: "no-store" });
  } catch (err) {
    answer = null; // the Wi-Fi: try again
  }
  if (answer && answer.status === 200) {
    status.textContent = t("The PDF is ready: downloading it.");
    location.replace(location.href);
    return;
  }
  if (answer && answer.status >= 400) {
    location.reload(); // the page says what went wrong
    return;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (seconds - told >= 10) {
    told = seconds;
    status.textContent = t("Still preparing the PDF: {seconds} s so far.", { seconds });
  }
  setTimeout(poll, 2000);
}

setTimeout(poll, 2000);
