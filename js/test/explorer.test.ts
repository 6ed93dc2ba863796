import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { explorerKey, type ExplorerModel, render, spreadCaption, stepWord } from "../src/explorer";
import { FakeModel } from "./fake-model";

const PNG = new DataView(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).buffer);
const XSS = "<img src=x onerror=alert(1)>";

const unmarked = (texts: string[]) => texts.map((text) => ({ text, spans: [] as [number, number][] }));

function state(changes: Partial<ExplorerModel> = {}): ExplorerModel {
  return {
    image_png: PNG,
    image_name: "bird.png",
    prediction: "waterbird",
    probability: 0.875,
    n_sentences: 64,
    top_p: 0.9,
    temperature: 1,
    status: "done",
    progress: 1,
    n_generated: 64,
    error: "",
    show_words: true,
    words: [
      { word: "water", count: 40, share: 0.5 },
      { word: "bird", count: 20, share: 0.25 },
      { word: "sky", count: 8, share: 0.125 },
    ],
    marked_sentences: unmarked(["A bird flies over the water.", "Two birds on a lake.", "The sky is blue."]),
    selected_word: "",
    methods: ["gradcam", "integrated_gradients", "occlusion"],
    saliency_method: "gradcam",
    saliency_png: PNG,
    word_map_png: new DataView(new ArrayBuffer(0)),
    word_map_word: "",
    saliency_spread: 0.08,
    word_map_spread: -1,
    map_scale: ["#000004", "#781c6d", "#ed6925", "#fcffa4"],
    help: "Keys: Enter generates; Escape cancels.",
    report_card: "",
    report_card_detail: "",
    ...changes,
  };
}

function mount(changes: Partial<ExplorerModel> = {}) {
  const model = new FakeModel(state(changes));
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = render({ model: model as unknown as AnyModel<ExplorerModel>, el });
  return { model, el, cleanup };
}

const marks = (el: HTMLElement) => [...el.querySelectorAll(".tx-sentences mark")].map((m) => m.textContent);

beforeEach(() => {
  let n = 0;
  vi.stubGlobal("URL", Object.assign(URL, {
    createObjectURL: vi.fn(() => `blob:fake/${++n}`),
    revokeObjectURL: vi.fn(),
  }));
});

afterEach(() => {
  document.body.replaceChildren();
  vi.unstubAllGlobals();
});

describe("Explorer view", () => {
  it("renders the image, the prediction and one bar per word, longest for the most frequent", () => {
    const { el } = mount();
    expect(el.querySelector<HTMLImageElement>(".tx-image")?.src).toMatch(/^blob:/);
    expect(el.querySelector(".tx-prediction")?.textContent).toBe("waterbird (87.5%)");
    const bars = [...el.querySelectorAll<HTMLButtonElement>(".tx-word")];
    expect(bars.map((b) => b.querySelector(".tx-label")?.textContent)).toEqual(["water", "bird", "sky"]);
    const widths = bars.map((b) => b.querySelector<HTMLElement>(".tx-bar")?.style.width);
    expect(widths).toEqual(["100%", "50%", "25%"]);
    expect(bars[0].querySelector(".tx-value")?.textContent).toBe("50%");
  });

  it("shows the translator's report card in one line with its detail as a tooltip, nothing without one", () => {
    const { el, model } = mount();
    const card = el.querySelector<HTMLElement>(".tx-header .tx-card");
    expect(card?.hidden).toBe(true);
    expect(card?.textContent).toBe("");
    model.update({ report_card: "recall 62%, precision 71% on 400 held-out captions", report_card_detail: `by class\n${XSS}` });
    expect(card?.hidden).toBe(false);
    expect(card?.textContent).toBe("translator: recall 62%, precision 71% on 400 held-out captions");
    expect(card?.title).toBe(`by class\n${XSS}`);
    expect(el.querySelector(".tx-card img")).toBeNull();
    model.update({ report_card: "" });
    expect(card?.hidden).toBe(true);
  });

  it("hides its word list where a linked chart shows the words", () => {
    const { el, model } = mount();
    const section = el.querySelector<HTMLElement>(".tx-word-section");
    expect(section?.hidden).toBe(false);
    model.update({ show_words: false });
    expect(section?.hidden).toBe(true);
    expect(el.querySelector(".tx-explorer")?.classList.contains("tx-no-words")).toBe(true);
  });

  it("grows the bars when the kernel sends more words", () => {
    const { el, model } = mount({ words: [], status: "running" });
    expect(el.querySelectorAll(".tx-word")).toHaveLength(0);
    model.update({ words: [{ word: "grass", count: 3, share: 0.1 }] });
    expect(el.querySelectorAll(".tx-word")).toHaveLength(1);
  });

  it("draws a word not above the language prior pale, the reason in its title", () => {
    const note = "not above the language prior: 31% of reference sentences vs 34% here (lift 1.1)";
    const { el } = mount({
      words: [
        { word: "photo", count: 40, share: 0.34, above_prior: false, note },
        { word: "grass", count: 30, share: 0.3, above_prior: true, note: "above the language prior" },
      ],
    });
    const [photo, grass] = [...el.querySelectorAll<HTMLButtonElement>(".tx-word")];
    expect(photo.classList.contains("tx-prior")).toBe(true);
    expect(photo.title).toContain(note);
    expect(grass.classList.contains("tx-prior")).toBe(false);
  });

  it("selects a word on click, saves it, and unselects it on a second click", () => {
    const { el, model } = mount();
    const bird = [...el.querySelectorAll<HTMLButtonElement>(".tx-word")][1];
    bird.click();
    expect(model.get("selected_word")).toBe("bird");
    expect(model.saved).toEqual([{ selected_word: "bird" }]);
    const selected = el.querySelector(".tx-word.tx-selected");
    expect(selected?.querySelector(".tx-label")?.textContent).toBe("bird");
    expect(selected?.getAttribute("aria-pressed")).toBe("true");
    el.querySelector<HTMLButtonElement>(".tx-word.tx-selected")?.click();
    expect(model.get("selected_word")).toBe("");
    expect(model.saved.at(-1)).toEqual({ selected_word: "" });
  });

  it("marks the spans Python sends, and only those", () => {
    const { el, model } = mount({ selected_word: "bird" });
    expect(marks(el)).toEqual([]);
    model.update({
      marked_sentences: [
        { text: "A bird flies over the water.", spans: [[2, 6]] },
        { text: "Two birds on a lake.", spans: [[4, 9]] },
      ],
    });
    expect(marks(el)).toEqual(["bird", "birds"]);
    expect(el.querySelector(".tx-sentences li")?.textContent).toBe("A bird flies over the water.");
    model.update({ selected_word: "water", marked_sentences: [{ text: "Water, water.", spans: [[0, 5], [7, 12]] }] });
    expect(marks(el)).toEqual(["Water", "water"]);
    expect(el.querySelectorAll(".tx-sentences li")).toHaveLength(1);
    model.update({ selected_word: "", marked_sentences: unmarked(["Water, water."]) });
    expect(marks(el)).toEqual([]);
  });

  it("does not tokenise: a word inside another word stays unmarked unless Python marks it", () => {
    const { el } = mount({ selected_word: "sky", marked_sentences: [{ text: "Skyline and sky, SKY.", spans: [[12, 15], [17, 20]] }] });
    expect(marks(el)).toEqual(["sky", "SKY"]);
  });

  it("counts offsets in code points, as Python does, and skips bad spans", () => {
    const text = "🐦 bird and 🌊 water";
    const { el } = mount({ marked_sentences: [{ text, spans: [[2, 6], [1, 0], [3, 5], [13, 18], [17, 99]] }] });
    expect(marks(el)).toEqual(["bird", "water"]);
    expect(el.querySelector(".tx-sentences li")?.textContent).toBe(text);
  });

  it("shows markup in sentences, words and names as text and creates no element from it", () => {
    const { el, model } = mount({
      image_name: `${XSS}.png`,
      prediction: XSS,
      marked_sentences: unmarked([`a bird ${XSS} near water`]),
      words: [{ word: XSS, count: 1, share: 1 }],
      error: XSS,
    });
    model.update({ selected_word: "bird", marked_sentences: [{ text: `a bird ${XSS} near water`, spans: [[2, 6]] }] });
    expect(el.querySelectorAll("img:not(.tx-image):not(.tx-map)")).toHaveLength(0);
    expect(el.querySelectorAll("img[onerror], [onerror]")).toHaveLength(0);
    expect(el.querySelector(".tx-sentences li")?.textContent).toBe(`a bird ${XSS} near water`);
    expect(el.querySelector(".tx-name")?.textContent).toBe(`${XSS}.png`);
    expect(el.querySelector(".tx-label")?.textContent).toBe(XSS);
    expect(el.querySelector(".tx-error")?.textContent).toBe(XSS);
    expect(marks(el)).toEqual(["bird"]);
  });

  it("sends generate and cancel, and disables the button that does not apply", () => {
    const { el, model } = mount({ status: "idle" });
    const generate = el.querySelector<HTMLButtonElement>(".tx-generate");
    const cancel = el.querySelector<HTMLButtonElement>(".tx-cancel");
    expect(cancel?.disabled).toBe(true);
    generate?.click();
    expect(model.sent).toEqual([{ action: "generate" }]);
    model.update({ status: "running", progress: 0.5, n_generated: 32 });
    expect(generate?.disabled).toBe(true);
    expect(el.querySelector<HTMLProgressElement>(".tx-progress")?.value).toBe(0.5);
    expect(el.querySelector(".tx-status")?.textContent).toBe("generating… 32 sentences");
    cancel?.click();
    expect(model.sent.at(-1)).toEqual({ action: "cancel" });
  });

  it("writes settings back and follows them from the kernel", () => {
    const { el, model } = mount();
    const topP = el.querySelector<HTMLInputElement>(".tx-top_p");
    expect(topP?.value).toBe("0.9");
    if (topP) topP.value = "0.75";
    topP?.dispatchEvent(new Event("change"));
    expect(model.get("top_p")).toBe(0.75);
    expect(model.saved).toEqual([{ top_p: 0.75 }]);
    model.update({ n_sentences: 256 });
    expect(el.querySelector<HTMLInputElement>(".tx-n_sentences")?.value).toBe("256");
  });

  it("picks a saliency method and shows the word map once it is the selected word's", () => {
    const { el, model } = mount({ selected_word: "water" });
    const select = el.querySelector<HTMLSelectElement>(".tx-method");
    expect([...(select?.options ?? [])].map((o) => o.value)).toEqual(["gradcam", "integrated_gradients", "occlusion"]);
    if (select) select.value = "occlusion";
    select?.dispatchEvent(new Event("change"));
    expect(model.saved).toEqual([{ saliency_method: "occlusion" }]);
    const map = el.querySelector<HTMLImageElement>(".tx-word-map");
    expect(map?.hidden).toBe(true);
    expect(el.querySelector(".tx-word-figure .tx-note")?.textContent).toMatch(/Computing the map of “water”/);
    model.update({ word_map_word: "water", word_map_png: PNG });
    expect(map?.hidden).toBe(false);
    expect(map?.src).toMatch(/^blob:/);
  });

  it("removes its listeners and object URLs on cleanup", () => {
    const { model, cleanup } = mount();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(URL.revokeObjectURL).toHaveBeenCalled();
  });

  it("shows the image and both maps side by side in one row, the same size, with a colour scale", () => {
    const { el } = mount();
    const figures = [...el.querySelectorAll(".tx-maps > figure")];
    expect(figures.map((f) => f.className)).toEqual(["tx-image-figure", "tx-saliency-figure", "tx-word-figure"]);
    expect(figures[0].querySelector(".tx-image")).not.toBeNull();
    const gradient = el.querySelector<HTMLElement>(".tx-scale .tx-gradient")!;
    expect(gradient.style.background).toContain("linear-gradient");
    expect(el.querySelector(".tx-scale")?.textContent).toBe("lowhigh");
  });

  it("writes each map's spread under it, in words", () => {
    expect(spreadCaption(0.08)).toBe("half its weight on 8% of the image: focused");
    expect(spreadCaption(0.2)).toBe("half its weight on 20% of the image: spread out");
    expect(spreadCaption(0.48)).toBe("half its weight on 48% of the image: everywhere, about uniform");
    expect(spreadCaption(-1)).toBe("");
    const { el, model } = mount({ selected_word: "water" });
    expect(el.querySelector(".tx-saliency-spread")?.textContent).toBe("half its weight on 8% of the image: focused");
    model.update({ word_map_word: "water", word_map_png: PNG, word_map_spread: 0.45 });
    expect(el.querySelector(".tx-word-spread")?.textContent).toBe("half its weight on 45% of the image: everywhere, about uniform");
    model.update({ saliency_png: new DataView(new ArrayBuffer(0)) });
    expect(el.querySelector(".tx-saliency-spread")?.textContent).toBe("");
  });

  it("takes Enter to generate and Escape to cancel, but leaves Enter on a control alone", () => {
    const { el, model } = mount({ status: "idle" });
    const root = el.querySelector<HTMLElement>(".tx-explorer")!;
    expect(root.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.sent).toEqual([{ action: "generate" }]);
    el.querySelector<HTMLInputElement>(".tx-top_p")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.sent).toHaveLength(1);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.sent).toHaveLength(1); // nothing running: nothing to cancel
    model.update({ status: "running" });
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.sent.at(-1)).toEqual({ action: "cancel" });
    expect(explorerKey(new KeyboardEvent("keydown", { key: "a" }))).toBeNull();
  });

  it("documents its keys in a ? tooltip, as text, and shows them on click", () => {
    const { el, model } = mount({ help: XSS });
    const help = el.querySelector<HTMLButtonElement>(".tx-help")!;
    expect(help.title).toBe(XSS);
    const text = el.querySelector<HTMLElement>(".tx-help-text")!;
    expect(text.hidden).toBe(true);
    help.click();
    expect(text.hidden).toBe(false);
    expect(help.getAttribute("aria-expanded")).toBe("true");
    expect(text.textContent).toBe(XSS);
    expect(text.querySelector("img")).toBeNull();
    model.update({ image_name: "a long name.png" });
    expect(el.querySelector<HTMLElement>(".tx-name")?.title).toBe("a long name.png");
  });

  it("chooses the next and previous word with the arrow keys, within the words", () => {
    const { el, model } = mount();
    const root = el.querySelector<HTMLElement>(".tx-explorer")!;
    const press = (key: string) => root.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
    press("ArrowDown");
    expect(model.get("selected_word")).toBe("water");
    press("ArrowDown");
    press("ArrowDown");
    press("ArrowDown");
    expect(model.get("selected_word")).toBe("sky"); // stays at the last
    press("ArrowUp");
    expect(model.get("selected_word")).toBe("bird");
    expect(stepWord([], "x", 1)).toBe("x");
    expect(stepWord([{ word: "a", count: 1, share: 1 }], "", -1)).toBe("a");
  });
});
