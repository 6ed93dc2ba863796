// The Explorer widget's view: the image, its prediction, Generate/Cancel with progress, the image
// and its two maps side by side at the same size (the classifier's saliency map with a method
// picker, the selected word's map), each with its spread written under it and one colour scale,
// the word bars (click one to select it) and sample sentences with the selected word marked.
// Keys: Enter generates, Escape cancels, ↓ ↑ choose the word (see `help`, shown by the `?` button).
//
// All state lives in the model (synced with the Python traits of
// texplain_widgets.widgets.explorer.Explorer); this view only renders it and writes back what a
// person changes. Actions (Generate, Cancel) go to the kernel as custom messages.
import type { RenderProps } from "@anywidget/types";

import { binding, byteLength, type Bytes, h, highlighted, type MarkedSentence, percent, pngSetter } from "./dom";
import "./explorer.css";

export interface Word {
  word: string;
  count: number;
  share: number;
  /** With the model's reference: false for a word not above the language prior (drawn pale). */
  above_prior?: boolean;
  /** With the model's reference: why it is pale, or its lift. */
  note?: string;
}

export type Status = "idle" | "running" | "done" | "cancelled" | "error";

export interface ExplorerModel {
  image_png: Bytes;
  image_name: string;
  prediction: string;
  probability: number;
  n_sentences: number;
  top_p: number;
  temperature: number;
  status: Status;
  progress: number;
  n_generated: number;
  error: string;
  words: Word[];
  show_words: boolean;
  marked_sentences: MarkedSentence[];
  selected_word: string;
  methods: string[];
  saliency_method: string;
  saliency_png: Bytes;
  word_map_png: Bytes;
  word_map_word: string;
  saliency_spread: number;
  word_map_spread: number;
  map_scale: string[];
  help: string;
  report_card: string;
  report_card_detail: string;
  [key: string]: unknown;
}


/** The number inputs: trait, label, limits, and how to read the typed text. */
const SETTINGS: { key: "n_sentences" | "top_p" | "temperature"; label: string; min: number; max: number; step: number; parse: (text: string) => number }[] = [
  { key: "n_sentences", label: "sentences", min: 1, max: 100000, step: 1, parse: (t) => Number.parseInt(t, 10) },
  { key: "top_p", label: "top-p", min: 0.01, max: 1, step: 0.05, parse: Number.parseFloat },
  { key: "temperature", label: "temperature", min: 0.05, max: 10, step: 0.1, parse: Number.parseFloat },
];

/** A map's spread (the share of the image holding half its weight; < 0: none) in words, as Python's drawing.spread_caption. */
export function spreadCaption(spread: number | undefined): string {
  if (spread === undefined || !Number.isFinite(spread) || spread < 0) return "";
  const kind = spread < 0.15 ? "focused" : spread < 0.3 ? "spread out" : "everywhere, about uniform";
  return `half its weight on ${percent(spread)} of the image: ${kind}`;
}

/** Keys the explorer takes itself: Escape cancels; outside a control, Enter generates and ↓ ↑ choose the next or previous word. */
export function explorerKey(event: KeyboardEvent): "generate" | "cancel" | "next-word" | "previous-word" | null {
  if (event.key === "Escape") return "cancel";
  const target = event.target as HTMLElement | null;
  if (target?.closest?.("button, input, select, textarea, a")) return null;
  if (event.key === "Enter") return "generate";
  if (event.key === "ArrowDown") return "next-word";
  if (event.key === "ArrowUp") return "previous-word";
  return null;
}

/** The word after (step 1) or before (step -1) `current` in `words`, from the first (or last) when none is chosen. */
export function stepWord(words: Word[], current: string, step: 1 | -1): string {
  if (words.length === 0) return current;
  const at = words.findIndex((w) => w.word === current);
  const next = at < 0 ? (step > 0 ? 0 : words.length - 1) : Math.min(words.length - 1, Math.max(0, at + step));
  return words[next].word;
}

export function render({ model, el }: Pick<RenderProps<ExplorerModel>, "model" | "el">): () => void {
  const { on, commit, dispose } = binding(model);

  // Header: the image's name, the classifier's prediction, and the `?` help.
  const image = h("img", { class: "tx-image", alt: "the image explained" });
  const imagePng = pngSetter(image);
  const name = h("div", { class: "tx-name" });
  const prediction = h("div", { class: "tx-prediction" });
  const help = h("button", { type: "button", class: "tx-help", "aria-label": "keys and help", "aria-expanded": "false" }, "?");
  const helpText = h("div", { class: "tx-help-text", role: "note" });
  helpText.hidden = true;
  help.addEventListener("click", () => {
    helpText.hidden = !helpText.hidden;
    help.setAttribute("aria-expanded", helpText.hidden ? "false" : "true");
  });
  // The translator's report card in one muted line (its tooltip: all of it); hidden for a model without one.
  const card = h("div", { class: "tx-card" });
  const header = h("div", { class: "tx-header" }, h("div", { class: "tx-info" }, name, prediction), card);

  // Controls: generation settings, Generate, Cancel, progress and status.
  const inputs = SETTINGS.map((setting) => {
    const input = h("input", {
      type: "number",
      class: `tx-setting tx-${setting.key}`,
      min: setting.min,
      max: setting.max,
      step: setting.step,
      "aria-label": setting.label,
    });
    input.addEventListener("change", () => {
      const value = setting.parse(input.value);
      if (Number.isFinite(value)) commit(setting.key, value);
      else input.value = String(model.get(setting.key));
    });
    return { setting, input };
  });
  const generate = h("button", { type: "button", class: "tx-generate" }, "Generate");
  const cancel = h("button", { type: "button", class: "tx-cancel" }, "Cancel");
  generate.addEventListener("click", () => model.send({ action: "generate" }));
  cancel.addEventListener("click", () => model.send({ action: "cancel" }));
  const progress = h("progress", { class: "tx-progress", max: 1, value: 0 });
  const status = h("span", { class: "tx-status", "aria-live": "polite" });
  const controls = h(
    "div",
    { class: "tx-controls" },
    ...inputs.map(({ setting, input }) => h("label", {}, `${setting.label} `, input)),
    generate,
    cancel,
    progress,
    status,
    help,
  );
  const error = h("div", { class: "tx-error", role: "alert" });

  // Words and sentences.
  const wordList = h("div", { class: "tx-words", role: "list", "aria-label": "frequent words" });
  const sentenceList = h("ol", { class: "tx-sentences" });
  const wordSection = h("section", { class: "tx-word-section" }, h("h4", {}, "Words"), wordList);
  const sentencesTitle = h("h4", {}, "Sentences");
  const body = h("div", { class: "tx-body" }, wordSection, h("section", { class: "tx-sentence-section" }, sentencesTitle, sentenceList));

  // The image and its maps, side by side at the same size; each map's spread under it; one colour scale.
  const method = h("select", { class: "tx-method", "aria-label": "saliency method" });
  method.addEventListener("change", () => commit("saliency_method", method.value));
  const saliency = h("img", { class: "tx-map tx-saliency", alt: "saliency map" });
  const saliencyPng = pngSetter(saliency);
  const saliencyNote = h("div", { class: "tx-note tx-spread tx-saliency-spread" });
  const wordCaption = h("figcaption", { class: "tx-word-caption" });
  const wordMap = h("img", { class: "tx-map tx-word-map", alt: "word-grounded map" });
  const wordMapPng = pngSetter(wordMap);
  const wordNote = h("div", { class: "tx-note tx-spread tx-word-spread" });
  const gradient = h("span", { class: "tx-gradient" });
  const scale = h(
    "div",
    { class: "tx-scale", title: "The maps' colours: cold regions are clear (the image shows), hot ones opaque." },
    h("span", {}, "low"),
    gradient,
    h("span", {}, "high"),
  );
  const maps = h(
    "div",
    { class: "tx-maps" },
    h("figure", { class: "tx-image-figure" }, h("figcaption", {}, "Image"), image),
    h("figure", { class: "tx-saliency-figure" }, h("figcaption", {}, "Saliency ", method), saliency, saliencyNote),
    h("figure", { class: "tx-word-figure" }, wordCaption, wordMap, wordNote),
  );

  // data-lm-suppress-shortcuts: Enter and Escape inside the widget are its own, not JupyterLab's.
  const root = h(
    "div",
    { class: "tx-explorer", tabindex: 0, "aria-label": "explorer", "data-lm-suppress-shortcuts": "true" },
    header, controls, helpText, error, maps, scale, body,
  );
  root.addEventListener("keydown", (event) => {
    const action = explorerKey(event);
    if (action === null) return;
    if (action === "next-word" || action === "previous-word") {
      event.preventDefault();
      const words = model.get("words") ?? [];
      const word = stepWord(words, model.get("selected_word") ?? "", action === "next-word" ? 1 : -1);
      if (word !== (model.get("selected_word") ?? "")) commit("selected_word", word);
      return;
    }
    if (action === "generate" && generate.disabled) return;
    if (action === "cancel" && cancel.disabled) return;
    event.preventDefault();
    model.send({ action });
  });
  el.append(root);

  on(["image_png"], () => imagePng.set(model.get("image_png")));
  on(["image_name"], () => {
    name.textContent = model.get("image_name") ?? "";
    name.title = model.get("image_name") ?? "";
  });
  on(["help"], () => {
    help.title = model.get("help") ?? "";
    helpText.textContent = model.get("help") ?? "";
  });
  on(["map_scale"], () => {
    const stops = (model.get("map_scale") ?? []).filter((c) => /^#[0-9a-f]{6}$/i.test(c));
    gradient.style.background = stops.length > 1 ? `linear-gradient(to right, ${stops.join(", ")})` : "";
  });
  on(["saliency_spread", "saliency_png"], () => {
    saliencyNote.textContent = byteLength(model.get("saliency_png")) ? spreadCaption(model.get("saliency_spread")) : "";
  });
  on(["report_card", "report_card_detail"], () => {
    const line = model.get("report_card") ?? "";
    card.textContent = line ? `translator: ${line}` : "";
    card.title = line ? (model.get("report_card_detail") ?? "") : "";
    card.hidden = !line;
  });
  on(["prediction", "probability"], () => {
    const label = model.get("prediction");
    prediction.textContent = label ? `${label} (${percent(model.get("probability") ?? 0, 1)})` : "";
  });
  for (const { setting, input } of inputs) {
    on([setting.key], () => {
      const value = String(model.get(setting.key));
      if (input.value !== value) input.value = value;
    });
  }
  on(["status", "progress", "n_generated"], () => {
    const state = model.get("status");
    const running = state === "running";
    generate.disabled = running;
    cancel.disabled = !running;
    progress.value = Math.min(1, Math.max(0, model.get("progress") ?? 0));
    root.dataset.status = state;
    const count = model.get("n_generated") ?? 0;
    status.textContent =
      state === "running"
        ? `generating… ${count} sentences`
        : state === "done"
          ? `${count} sentences`
          : state === "cancelled"
            ? `cancelled after ${count} sentences`
            : state === "error"
              ? "failed"
              : "";
  });
  on(["error"], () => {
    error.textContent = model.get("error") ?? "";
    error.hidden = !model.get("error");
  });

  on(["show_words"], () => {
    const hide = model.get("show_words") === false;
    wordSection.hidden = hide;
    root.classList.toggle("tx-no-words", hide);
  });
  on(["words", "selected_word"], () => {
    const selected = model.get("selected_word") ?? "";
    const words = model.get("words") ?? [];
    const top = words.reduce((best, w) => Math.max(best, w.share), 0) || 1;
    wordList.replaceChildren(
      ...words.map((entry) => {
        const bar = h("span", { class: "tx-bar" });
        bar.style.width = percent(entry.share / top, 1);
        const button = h(
          "button",
          {
            type: "button",
            class: ["tx-word", entry.word === selected ? "tx-selected" : "", entry.above_prior === false ? "tx-prior" : ""].filter(Boolean).join(" "),
            role: "listitem",
            "aria-pressed": entry.word === selected ? "true" : "false",
            title: `${entry.count} times, in ${percent(entry.share)} of the sentences${entry.note ? `; ${entry.note}` : ""}`,
          },
          h("span", { class: "tx-label" }, entry.word),
          h("span", { class: "tx-track" }, bar),
          h("span", { class: "tx-value" }, percent(entry.share)),
        );
        button.addEventListener("click", () => {
          commit("selected_word", model.get("selected_word") === entry.word ? "" : entry.word);
        });
        return button;
      }),
    );
  });

  // Python marks the selected word's tokens (words.word_spans): the view does not tokenise.
  on(["marked_sentences", "selected_word"], () => {
    const word = model.get("selected_word") ?? "";
    sentencesTitle.textContent = word ? `Sentences, those with “${word}” first` : "Sentences";
    sentenceList.replaceChildren(...(model.get("marked_sentences") ?? []).map((s) => h("li", {}, highlighted(s))));
  });

  on(["methods", "saliency_method"], () => {
    const methods = model.get("methods") ?? [];
    const current = model.get("saliency_method") ?? "";
    const names = methods.includes(current) || !current ? methods : [...methods, current];
    method.replaceChildren(...names.map((m) => h("option", { value: m }, m.replace(/_/g, " "))));
    method.value = current;
  });
  on(["saliency_png"], () => saliencyPng.set(model.get("saliency_png")));

  on(["selected_word", "word_map_word", "word_map_png", "word_map_spread"], () => {
    const selected = model.get("selected_word") ?? "";
    const ready = selected !== "" && model.get("word_map_word") === selected;
    wordCaption.textContent = selected ? `Where “${selected}” comes from` : "Word map";
    wordCaption.title = wordCaption.textContent;
    wordMapPng.set(ready ? model.get("word_map_png") : null);
    wordNote.textContent = !selected
      ? "Click a word to see where in the image it comes from."
      : !ready
        ? `Computing the map of “${selected}”…`
        : byteLength(model.get("word_map_png")) === 0
          ? "No map for this word."
          : spreadCaption(model.get("word_map_spread"));
  });

  return () => {
    dispose();
    imagePng.dispose();
    saliencyPng.dispose();
    wordMapPng.dispose();
    root.remove();
  };
}

export default { render };
