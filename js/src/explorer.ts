// The Explorer widget's view: one image, its prediction, Generate/Cancel with progress, the word
// bars (click one to select it), sample sentences with the selected word marked, the classifier's
// saliency map with a method picker and the word-grounded map of the selected word.
//
// All state lives in the model (synced with the Python traits of
// texplain_widgets.widgets.explorer.Explorer); this view only renders it and writes back what a
// person changes. Actions (Generate, Cancel) go to the kernel as custom messages.
import type { RenderProps } from "@anywidget/types";

import { type Bytes, byteLength, h, highlighted, type MarkedSentence, percent, pngSetter } from "./dom";
import "./explorer.css";

export interface Word {
  word: string;
  count: number;
  share: number;
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
  [key: string]: unknown;
}


/** The number inputs: trait, label, limits, and how to read the typed text. */
const SETTINGS: { key: "n_sentences" | "top_p" | "temperature"; label: string; min: number; max: number; step: number; parse: (text: string) => number }[] = [
  { key: "n_sentences", label: "sentences", min: 1, max: 100000, step: 1, parse: (t) => Number.parseInt(t, 10) },
  { key: "top_p", label: "top-p", min: 0.01, max: 1, step: 0.05, parse: Number.parseFloat },
  { key: "temperature", label: "temperature", min: 0.05, max: 10, step: 0.1, parse: Number.parseFloat },
];

export function render({ model, el }: Pick<RenderProps<ExplorerModel>, "model" | "el">): () => void {
  const listeners: [string, () => void][] = [];
  const on = (keys: string[], callback: () => void) => {
    for (const key of keys) {
      model.on(`change:${key}`, callback);
      listeners.push([`change:${key}`, callback]);
    }
    callback();
  };
  const commit = <K extends keyof ExplorerModel & string>(key: K, value: ExplorerModel[K]) => {
    model.set(key, value);
    model.save_changes();
  };

  // Header: the image, its name and the classifier's prediction.
  const image = h("img", { class: "tx-image", alt: "the image explained" });
  const imagePng = pngSetter(image);
  const name = h("div", { class: "tx-name" });
  const prediction = h("div", { class: "tx-prediction" });
  const header = h("div", { class: "tx-header" }, image, h("div", { class: "tx-info" }, name, prediction));

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
  );
  const error = h("div", { class: "tx-error", role: "alert" });

  // Words and sentences.
  const wordList = h("div", { class: "tx-words", role: "list", "aria-label": "frequent words" });
  const sentenceList = h("ol", { class: "tx-sentences" });
  const wordSection = h("section", { class: "tx-word-section" }, h("h4", {}, "Words"), wordList);
  const body = h("div", { class: "tx-body" }, wordSection, h("section", {}, h("h4", {}, "Sentences"), sentenceList));

  // Maps: the classifier's saliency (with a method picker) and the selected word's map.
  const method = h("select", { class: "tx-method", "aria-label": "saliency method" });
  method.addEventListener("change", () => commit("saliency_method", method.value));
  const saliency = h("img", { class: "tx-map tx-saliency", alt: "saliency map" });
  const saliencyPng = pngSetter(saliency);
  const wordCaption = h("figcaption", {});
  const wordMap = h("img", { class: "tx-map tx-word-map", alt: "word-grounded map" });
  const wordMapPng = pngSetter(wordMap);
  const wordNote = h("div", { class: "tx-note" });
  const maps = h(
    "div",
    { class: "tx-maps" },
    h("figure", {}, h("figcaption", {}, "Saliency ", method), saliency),
    h("figure", {}, wordCaption, wordMap, wordNote),
  );

  const root = h("div", { class: "tx-explorer" }, header, controls, error, body, maps);
  el.append(root);

  on(["image_png"], () => imagePng.set(model.get("image_png")));
  on(["image_name"], () => {
    name.textContent = model.get("image_name") ?? "";
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
            class: entry.word === selected ? "tx-word tx-selected" : "tx-word",
            role: "listitem",
            "aria-pressed": entry.word === selected ? "true" : "false",
            title: `${entry.count} times, in ${percent(entry.share)} of the sentences`,
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
  on(["marked_sentences"], () => {
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

  on(["selected_word", "word_map_word", "word_map_png"], () => {
    const selected = model.get("selected_word") ?? "";
    const ready = selected !== "" && model.get("word_map_word") === selected;
    wordCaption.textContent = selected ? `Where “${selected}” comes from` : "Word map";
    wordMapPng.set(ready ? model.get("word_map_png") : null);
    wordNote.textContent = !selected
      ? "Click a word to see where in the image it comes from."
      : !ready
        ? `Computing the map of “${selected}”…`
        : byteLength(model.get("word_map_png")) === 0
          ? "No map for this word."
          : "";
  });

  return () => {
    for (const [event, callback] of listeners) model.off(event, callback);
    imagePng.dispose();
    saliencyPng.dispose();
    wordMapPng.dispose();
    root.remove();
  };
}

export default { render };
