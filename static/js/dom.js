// Small DOM helpers shared by the screens: making elements, binding to the page's
// [data-bind] slots, the error line and the screen-reader announcements. Text
// always goes in as text. No socket here: live.js owns that.
import { t, tk, tkDir } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child != null) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// Text as people typed it, in its own direction inside the sentence.
export const typed = (text) => h("span", { dir: "auto" }, text);

// A translated text with elements in it (a bold title, a number kept up to date):
// the text is cut at each {name} given in nodes and the element goes there, so the
// translation decides where it stands. Returns children for h().
export function withNodes(text, nodes) {
  return text.split(/(\{\w+\})/).filter(Boolean).map((part) => {
    const name = part.slice(1, -1);
    return part[0] === "{" && Object.prototype.hasOwnProperty.call(nodes, name) ? nodes[name] : part;
  });
}

export function bind(root, name) {
  return root.querySelector(`[data-bind="${name}"]`);
}

// Data the server rendered into the page as a JSON data- attribute (for instance
// data-poll-methods on the console); fallback where the page has none.
export function pageData(name, fallback) {
  const el = document.querySelector(`[data-${name}]`);
  return el ? JSON.parse(el.getAttribute(`data-${name}`)) : fallback;
}

// The stage's title and prompt in a screen's [data-bind=stage-title/-prompt]: a kit's
// text translated runs in the page's direction, a text the facilitator typed in its own.
export function showStageText(root, stage, workshopTitle) {
  const title = bind(root, "stage-title");
  title.dir = stage ? tkDir(stage.title) : "auto";
  title.textContent = stage ? tk(stage.title) : workshopTitle;
  const prompt = bind(root, "stage-prompt");
  prompt.dir = stage ? tkDir(stage.prompt) : "auto";
  prompt.textContent = stage ? tk(stage.prompt) : "";
}

// Disables a button (or select) while its action is on the way.
export function busy(control, promise) {
  control.disabled = true;
  const done = () => { control.disabled = false; };
  promise.then(done, done);
  return promise;
}

// Says something to screen readers through the page's polite live region (a
// stage change, a result, an action done): each message is added as a new line,
// so one said right after another is not lost; the last three are kept.
export function announce(text) {
  const region = bind(document, "announce");
  if (!region || !text) return;
  region.append(h("span", {}, `${text} `));
  while (region.childNodes.length > 3) region.firstChild.remove();
}

export function showError(root, error) {
  const el = bind(root, "error");
  if (!el) return;
  // A refusal's text in this screen's language: the server sends its English words
  // (`template`, or the whole `message`) and the values that go in them.
  // A value may itself be a fixed word (a field's name), translated like a kit's text.
  const values = error && error.values
    ? Object.fromEntries(Object.entries(error.values).map(([k, v]) => [k, typeof v === "string" ? tk(v) : v]))
    : undefined;
  el.textContent = error ? (error.message ? t(error.template || error.message, values) : String(error)) : "";
  el.hidden = !error;
}
