import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type GridItem, type ReportModel, render } from "../src/report";
import { FakeModel } from "./fake-model";

const JPEG = new DataView(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]).buffer);
const XSS = "<img src=x onerror=alert(1)>";

function item(id: number, changes: Partial<GridItem> = {}): GridItem {
  return { id, name: `img${id}.png`, share: 0.5, count: 4, label: "landbird", group: "landbird/water", predicted: "waterbird", error: "", ...changes };
}

function state(changes: Partial<ReportModel> = {}): ReportModel {
  return {
    title: "biased: 400 images",
    error: "",
    note: "",
    accuracy: [
      { by: "all", name: "all", n: 400, correct: 300, accuracy: 0.75, worst: false },
      { by: "group", name: "landbird/water", n: 100, correct: 20, accuracy: 0.2, worst: true },
    ],
    by: "predicted",
    by_options: ["predicted", "label", "group"],
    search: "",
    matches: [],
    selected_word: "water",
    n_with: 30,
    page: 0,
    n_pages: 2,
    items: [item(3), item(7, { share: 0.25, label: "waterbird" }), item(9, { name: XSS })],
    thumbnails: [JPEG, JPEG, JPEG],
    selected_image: -1,
    stored: {},
    card: {},
    reliance_status: {},
    compare: [],
    compare_names: [],
    ...changes,
  };
}

function mount(changes: Partial<ReportModel> = {}) {
  const model = new FakeModel(state(changes));
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = render({ model: model as unknown as AnyModel<ReportModel>, el });
  return { model, el, cleanup };
}

const cells = (el: HTMLElement) => [...el.querySelectorAll<HTMLButtonElement>(".tx-cell")];

beforeEach(() => {
  let n = 0;
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: vi.fn(() => `blob:fake/${++n}`), revokeObjectURL: vi.fn() }));
});

afterEach(() => {
  document.body.replaceChildren();
  vi.unstubAllGlobals();
});

describe("DatasetReport view", () => {
  it("draws the grid: a JPEG thumbnail, the word's share, label and prediction per image", () => {
    const { el } = mount();
    expect(cells(el)).toHaveLength(3);
    expect((vi.mocked(URL.createObjectURL).mock.calls[0][0] as Blob).type).toBe("image/jpeg");
    expect(cells(el)[0].querySelector(".tx-cell-share")?.textContent).toBe("50%");
    expect(cells(el)[0].querySelector(".tx-cell-class")?.textContent).toBe("landbird → waterbird");
    expect(cells(el)[0].classList.contains("tx-incorrect")).toBe(true);
    expect(cells(el)[1].classList.contains("tx-correct")).toBe(true);
    expect(el.querySelector(".tx-grid-title")?.textContent).toContain("30 images with “water”");
  });

  it("marks the worst group and hides the accuracy table without labels", () => {
    const { el, model } = mount();
    const worst = el.querySelectorAll(".tx-accuracy tr.tx-worst");
    expect(worst).toHaveLength(1);
    expect(worst[0].textContent).toContain("landbird/water");
    model.update({ accuracy: [] });
    expect(el.querySelector<HTMLTableElement>(".tx-accuracy")?.hidden).toBe(true);
  });

  it("writes back a click on a thumbnail, the pages, the grouping and the search", () => {
    const { el, model } = mount();
    cells(el)[1].click();
    expect(model.saved.at(-1)).toEqual({ selected_image: 7 });
    el.querySelector<HTMLButtonElement>(".tx-next")?.click();
    expect(model.saved.at(-1)).toEqual({ page: 1 });
    expect(el.querySelector<HTMLButtonElement>(".tx-previous")?.disabled).toBe(false);
    expect(el.querySelector<HTMLButtonElement>(".tx-next")?.disabled).toBe(true); // the last of 2 pages
    expect(el.querySelector(".tx-page")?.textContent).toBe("page 2 of 2");
    const by = el.querySelector<HTMLSelectElement>(".tx-by") as HTMLSelectElement;
    expect([...by.options].map((o) => o.value)).toEqual(["predicted", "label", "group"]);
    by.value = "group";
    by.dispatchEvent(new Event("change"));
    expect(model.saved.at(-1)).toEqual({ by: "group" });
    const search = el.querySelector<HTMLInputElement>(".tx-search") as HTMLInputElement;
    search.value = "bri";
    search.dispatchEvent(new Event("input"));
    expect(model.saved.at(-1)).toEqual({ search: "bri" });
    model.update({ matches: ["brick", "bridge"] });
    el.querySelector<HTMLButtonElement>(".tx-match")?.click();
    expect(model.saved.at(-1)).toEqual({ selected_word: "brick" });
    search.value = "lake ";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(model.saved.at(-1)).toEqual({ selected_word: "lake" });
  });

  it("shows the stored explanation with the word marked, and says maps need a model", () => {
    const { el, model } = mount();
    expect(el.querySelector<HTMLElement>(".tx-stored")?.hidden).toBe(true);
    model.update({
      selected_image: 3,
      stored: {
        id: 3,
        name: "img3.png",
        label: "landbird",
        prediction: "waterbird",
        probability: 0.9,
        sentences: [{ text: "a bird on the water", spans: [[14, 19]] }],
        n_sentences: 64,
        words: [{ word: "water", count: 40, share: 0.6 }],
        maps: "Maps need the run's model",
      },
    });
    expect(cells(el)[0].classList.contains("tx-selected")).toBe(true);
    expect(el.querySelector(".tx-stored-sentences mark")?.textContent).toBe("water");
    expect(el.querySelector(".tx-stored-title")?.textContent).toBe("Stored sentences (64)");
    expect(el.querySelector(".tx-maps-note")?.textContent).toContain("model");
  });

  it("shows hostile names, sentences and errors as text only", () => {
    const { el, model } = mount({ error: XSS, title: XSS });
    model.update({ stored: { id: 9, name: XSS, prediction: XSS, sentences: [{ text: XSS, spans: [] }], words: [] } });
    expect(el.querySelector(".tx-error")?.textContent).toBe(XSS);
    expect(el.querySelector(".tx-stored h4")?.textContent).toBe(XSS);
    expect(el.querySelectorAll("img")).toHaveLength(3); // the thumbnails only
  });

  it("lists the compared runs' words per group side by side", () => {
    const { el } = mount({
      compare_names: ["biased", "balanced"],
      compare: [
        { group: "landbird/water", word: "water", share: 0.6, other_share: 0.1, difference: 0.5 },
        { group: "landbird/water", word: "sparrow", share: 0.1, other_share: 0.5, difference: -0.4 },
      ],
    });
    const group = el.querySelector(".tx-compare-group[data-group='landbird/water']");
    const sides = group?.querySelectorAll(".tx-compare-side") ?? [];
    expect(sides[0].textContent).toContain("more in biased");
    expect(sides[0].textContent).toContain("water: 60% vs 10%");
    expect(sides[1].textContent).toContain("sparrow");
  });

  it("puts the accuracy table and the comparison in sections that open on demand, each summed up", () => {
    const { el, model } = mount();
    const accuracy = el.querySelector<HTMLDetailsElement>(".tx-accuracy-section") as HTMLDetailsElement;
    expect(accuracy.open).toBe(false);
    expect(accuracy.hidden).toBe(false);
    expect(accuracy.querySelector("summary")?.textContent).toBe("Accuracy: 75.0% of 400 images; worst group landbird/water: 20.0%");
    expect(accuracy.querySelector(".tx-accuracy")).not.toBeNull();
    const compare = el.querySelector<HTMLDetailsElement>(".tx-compare-section") as HTMLDetailsElement;
    expect(compare.hidden).toBe(true); // no second run
    model.update({
      compare_names: ["biased", "balanced"],
      compare: [{ group: "kite/brick", word: "balloon", share: 0.32, other_share: 0.002, difference: 0.318, z: 6.1 }],
    });
    expect(compare.hidden).toBe(false);
    expect(compare.open).toBe(false);
    expect(compare.querySelector("summary")?.textContent).toBe("Words whose share differs: biased vs balanced, in 1 group");
    model.update({ accuracy: [] });
    expect(accuracy.hidden).toBe(true);
  });

  it("shows the slice card as text, measures reliance with progress and cancel, and the mitigation on demand", () => {
    const card = {
      word: "grass",
      title: "“grass”: 200 images use it",
      lines: ["“grass”: 200 images use it (in ≥ 25% of their sentences)"],
      rows: [{ label: XSS, n: "100", inside: "5 [2–11]", outside: "100 [96–100]", gap: "+95% [+88, +98]" }],
      pairs: ["balloon, field + grass: right 0% of 28, gap +61% [+47, +70]"],
      reliance: "Reliance: not measured for this run.",
      pseudo_groups: "Pseudo-groups by grass: worst kite/(none), 2% of 100 right",
      words: ["grass"],
      command: "texplain mitigate --words grass " + XSS,
      python: "mitigate(model, 'demo', words=['grass'])",
      measure: "measure reliance",
      measure_note: "",
    };
    const { el, model } = mount();
    const root = el.querySelector<HTMLElement>(".tx-slice-card") as HTMLElement;
    expect(root.hidden).toBe(true); // no card
    model.update({ card });
    expect(root.hidden).toBe(false);
    expect(root.querySelector(".tx-slice-title")?.textContent).toContain("200 images");
    expect(root.querySelector(".tx-slice-table tr:nth-child(2) th")?.textContent).toBe(`${XSS} (100)`); // text, not markup
    expect(root.querySelectorAll("img")).toHaveLength(0);
    expect(root.querySelector(".tx-slice-pairs summary")?.textContent).toBe("1 two-word slice with it");
    expect(root.querySelector(".tx-slice-pairs li")?.textContent).toContain("field + grass");
    expect(root.querySelector(".tx-slice-reliance")?.textContent).toContain("not measured");
    model.update({ card: { ...card, pairs: [], searching: true } });
    expect(root.querySelector(".tx-slice-pairs")?.textContent).toBe("searching the two-word slices…");
    model.update({ card });
    root.querySelector<HTMLButtonElement>(".tx-measure")?.click();
    expect(model.sent).toEqual([{ action: "measure" }]);
    model.update({ reliance_status: { state: "running", word: "grass", done: 3, total: 24 } });
    expect(root.querySelector<HTMLButtonElement>(".tx-measure")?.disabled).toBe(true);
    expect(root.querySelector<HTMLProgressElement>(".tx-measure-progress")?.value).toBe(3);
    root.querySelector<HTMLButtonElement>(".tx-measure-cancel")?.click();
    expect(model.sent.at(-1)).toEqual({ action: "cancel" });
    model.update({ reliance_status: { state: "cancelled", word: "grass", done: 3, total: 24 } });
    expect(root.querySelector(".tx-measure-cancel")).toBeNull();
    expect(root.textContent).toContain("reliance on “grass” cancelled");
    const mitigation = root.querySelector<HTMLElement>(".tx-slice-mitigation") as HTMLElement;
    expect(mitigation.hidden).toBe(true);
    root.querySelector<HTMLButtonElement>(".tx-use-groups")?.click();
    expect(root.querySelector<HTMLElement>(".tx-slice-mitigation")?.hidden).toBe(false);
    expect(root.querySelector(".tx-mitigate-command")?.textContent).toBe(card.command);
    expect(root.querySelector(".tx-mitigate-python")?.textContent).toContain("words=['grass']");
    model.update({ card: { ...card, measure: "", measure_note: "Reliance needs the run's model" } });
    expect(root.querySelector(".tx-measure")).toBeNull();
    expect(root.querySelector(".tx-measure-note")?.textContent).toContain("model");
    expect(root.querySelector<HTMLElement>(".tx-slice-mitigation")?.hidden).toBe(false); // stays open
  });

  it("marks the worst pseudo-group beside the worst group", () => {
    const { el } = mount({
      accuracy: [
        { by: "all", name: "all", n: 400, correct: 300, accuracy: 0.75, worst: false },
        { by: "group", name: "kite/brick", n: 100, correct: 2, accuracy: 0.02, worst: true },
        { by: "pseudo-group", name: "kite/(none)", n: 100, correct: 2, accuracy: 0.02, worst: true },
      ],
    });
    const worst = [...el.querySelectorAll(".tx-accuracy tr.tx-worst")].map((row) => row.textContent);
    expect(worst).toEqual(["group: kite/brick1002.0% ⚠ worst group", "pseudo-group: kite/(none)1002.0% ⚠ worst pseudo-group"]);
    expect(el.querySelector(".tx-accuracy-section summary")?.textContent).toBe(
      "Accuracy: 75.0% of 400 images; worst group kite/brick: 2.0%; worst pseudo-group kite/(none): 2.0%",
    );
  });

  it("says where the selected image will show until one is selected", () => {
    const { el, model } = mount();
    const hint = el.querySelector<HTMLElement>(".tx-stored-hint") as HTMLElement;
    expect(hint.hidden).toBe(false);
    expect(hint.textContent).toContain("Click a thumbnail");
    model.update({ selected_image: 3, stored: { id: 3, name: "img3.png", prediction: "waterbird", sentences: [], words: [] } });
    expect(hint.hidden).toBe(true);
    expect(el.querySelector<HTMLElement>(".tx-stored")?.hidden).toBe(false);
  });

  it("removes its listeners and revokes its thumbnails' URLs when the view goes away", () => {
    const { model, cleanup, el } = mount();
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
    expect(vi.mocked(URL.revokeObjectURL)).toHaveBeenCalledTimes(3);
  });
});
