// The built bundle keeps anywidget's contract: an ES module whose default export has `render`.
// Runs after `npm run build`; skipped when texplain_widgets/static/ has not been built.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { AnyModel } from "@anywidget/types";
import { describe, expect, it } from "vitest";

import { FakeModel } from "./fake-model";

const bundle = resolve(__dirname, "../../texplain_widgets/static/explorer.js");

describe.skipIf(!existsSync(bundle))("built explorer.js", () => {
  it("exports render, which draws into the element and cleans up", async () => {
    const widget = (await import(/* @vite-ignore */ bundle)).default;
    expect(typeof widget.render).toBe("function");
    const model = new FakeModel({
      image_png: null, image_name: "x.png", prediction: "cat", probability: 0.5, n_sentences: 8,
      top_p: 0.9, temperature: 1, status: "idle", progress: 0, n_generated: 0, error: "",
      words: [{ word: "cat", count: 2, share: 1 }], marked_sentences: [{ text: "a cat", spans: [[2, 5]] }],
      selected_word: "cat", methods: ["gradcam"], saliency_method: "gradcam", saliency_png: null,
      word_map_png: null, word_map_word: "",
    });
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as unknown as AnyModel, el });
    expect(el.querySelector(".tx-sentences mark")?.textContent).toBe("cat");
    cleanup();
    expect(el.childElementCount).toBe(0);
  });
});

const browserBundle = resolve(__dirname, "../../texplain_widgets/static/browser.js");

describe.skipIf(!existsSync(browserBundle))("built browser.js", () => {
  it("exports render, which draws the grid and cleans up", async () => {
    const widget = (await import(/* @vite-ignore */ browserBundle)).default;
    const model = new FakeModel({
      page: 0, n_pages: 1, n_images: 1, n_shown: 1, n_predicted: 0, filter_label: "", filter_predicted: "",
      filter_group: "", filter_correct: "", filter_name: "", label_options: [], predicted_options: [],
      group_options: [], selected: -1, error: "", thumbnails: [null],
      items: [{ index: 0, name: "a.png", label: null, predicted: null, correct: null, group: null, error: "" }],
    });
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as unknown as AnyModel, el });
    expect(el.querySelector(".tx-cell-name")?.textContent).toBe("a.png");
    cleanup();
    expect(el.childElementCount).toBe(0);
  });
});
