// Translated interface text. The page names its language on <html lang dir>; for a
// language other than English it loads /i18n/<lang>.js first (a classic script,
// cached and compressed like the rest), which sets window.FACILITATOR_MESSAGES.
//
//   t("Add a note")                            a fixed text
//   t("Stage {n} of {total}", { n, total })    with values put in by name
//   tn("{n} vote", "{n} votes", n)             singular and plural; {n} is given
//   tk(stage.title)                            a kit's text (stage titles, prompts,
//                                              sectors...): translated when the text is
//                                              the kit's own, shown as typed otherwise
//
// Only string literals go in t() and tn(): `python3 dev.py i18n` extracts them.
// Values are put in as text (never markup), so user text stays literal.

const messages = window.FACILITATOR_MESSAGES || {};
const root = document.documentElement;

export const LANG = root.lang || "en";
export const DIR = root.dir === "rtl" ? "rtl" : "ltr";

function fill(text, values) {
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

export function t(text, values) {
  const found = messages[text];
  return fill(typeof found === "string" && found ? found : text, values);
}

// Plural rules of the shipped languages: French counts 0 and 1 as singular.
function plural(n) {
  if (LANG === "fr") return n === 0 || n === 1 ? 0 : 1;
  return n === 1 ? 0 : 1;
}

export function tn(singular, pluralText, n, values) {
  const found = messages[singular];
  const forms = Array.isArray(found) && found.every(Boolean) ? found : [singular, pluralText];
  const index = Math.min(plural(n), forms.length - 1);
  return fill(forms[index], { n, ...(values || {}) });
}

export function tk(text) {
  if (!text) return text;
  const found = messages[text];
  return typeof found === "string" && found ? found : text;
}

// The direction for a kit text shown with tk(): the page's when it was translated (a
// translation is in the page's language), its own otherwise (a title the facilitator
// typed may be in any language and script).
export function tkDir(text) {
  return typeof messages[text] === "string" && messages[text] ? "" : "auto";
}

// Numbers and dates in the page's language.
export function formatNumber(n) {
  return new Intl.NumberFormat(LANG).format(n);
}
