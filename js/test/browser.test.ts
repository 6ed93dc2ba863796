import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { type BrowserModel, cellCaption, cellTitle, type Item, moveTo, render } from "../src/browser";
import { FakeModel } from "./fake-model";

const JPEG = new DataView(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]).buffer);
const XSS = "<img src=x onerror=alert(1)>.png";

function item(index: number, changes: Partial<Item> = {}): Item {
  return { index, name: `img${index}.png`, label: "kite", predicted: "kite", correct: true, group: "kite/grass", error: "", ...changes };
}

function state(changes: Partial<BrowserModel> = {}): BrowserModel {
  return {
    page: 0,
    n_pages: 3,
    n_images: 250,
    n_shown: 250,
    n_predicted: 250,
    filter_label: "",
    filter_predicted: "",
    filter_group: "",
    filter_correct: "",
    filter_name: "",
    label_options: ["balloon", "kite"],
    predicted_options: ["kite", "balloon"],
    group_options: ["kite/grass", "kite/brick"],
    items: [item(0), item(1, { predicted: "balloon", correct: false }), item(2, { name: XSS })],
    thumbnails: [JPEG, JPEG, JPEG],
    selected: -1,
    rows: 2,
    error: "",
    ...changes,
  };
}

function mount(changes: Partial<BrowserModel> = {}) {
  const model = new FakeModel(state(changes));
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = render({ model: model as unknown as AnyModel<BrowserModel>, el });
  return { model, el, cleanup };
}

const cells = (el: HTMLElement) => [...el.querySelectorAll<HTMLButtonElement>(".tx-cell")];

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

describe("ImageBrowser view", () => {
  it("draws one cell per item with its thumbnail as a JPEG blob and its verdict", () => {
    const { el } = mount();
    expect(cells(el)).toHaveLength(3);
    expect(el.querySelector<HTMLImageElement>(".tx-thumb")?.src).toMatch(/^blob:/);
    const blob = vi.mocked(URL.createObjectURL).mock.calls[0][0] as Blob;
    expect(blob.type).toBe("image/jpeg");
    expect(cells(el)[0].classList.contains("tx-correct")).toBe(true);
    expect(cells(el)[1].classList.contains("tx-incorrect")).toBe(true);
    expect(cells(el)[1].querySelector(".tx-cell-class")?.textContent).toBe("balloon");
  });

  it("shows a hostile file name as text and runs nothing", () => {
    const { el } = mount();
    const name = cells(el)[2].querySelector(".tx-cell-name");
    expect(name?.textContent).toBe(XSS);
    expect(name?.querySelector("img")).toBeNull();
    expect(el.querySelectorAll("img")).toHaveLength(3); // the thumbnails only
  });

  it("selects an image on click, and follows a selection made in Python", () => {
    const { el, model } = mount();
    cells(el)[1].click();
    expect(model.saved.at(-1)).toEqual({ selected: 1 });
    expect(cells(el)[1].getAttribute("aria-selected")).toBe("true");
    model.update({ selected: 2 });
    expect(cells(el)[2].classList.contains("tx-selected")).toBe(true);
    expect(cells(el)[1].classList.contains("tx-selected")).toBe(false);
  });

  it("pages forward and back, and disables the ends", () => {
    const { el, model } = mount();
    const previous = el.querySelector<HTMLButtonElement>(".tx-previous");
    const next = el.querySelector<HTMLButtonElement>(".tx-next");
    expect(previous?.disabled).toBe(true);
    expect(el.querySelector(".tx-page")?.textContent).toBe("page 1 of 3 · 250 images");
    next?.click();
    expect(model.saved.at(-1)).toEqual({ page: 1 });
    model.update({ page: 2, n_shown: 40 });
    expect(next?.disabled).toBe(true);
    expect(el.querySelector(".tx-page")?.textContent).toBe("page 3 of 3 · 40 of 250 images");
  });

  it("offers each filter's choices and writes the chosen one", () => {
    const { el, model } = mount();
    const group = el.querySelector<HTMLSelectElement>(".tx-filter_group");
    expect([...(group?.options ?? [])].map((o) => o.value)).toEqual(["", "kite/grass", "kite/brick"]);
    if (group) {
      group.value = "kite/brick";
      group.dispatchEvent(new Event("change"));
    }
    expect(model.saved.at(-1)).toEqual({ filter_group: "kite/brick" });
    const search = el.querySelector<HTMLInputElement>(".tx-filter-name");
    if (search) {
      search.value = "img1";
      search.dispatchEvent(new Event("change"));
    }
    expect(model.saved.at(-1)).toEqual({ filter_name: "img1" });
  });

  it("marks an unreadable image and says why in its tooltip", () => {
    const { el } = mount({ items: [item(0, { error: "broken.png: not an image" })], thumbnails: [new DataView(new ArrayBuffer(0))] });
    expect(cells(el)[0].classList.contains("tx-broken")).toBe(true);
    expect(cells(el)[0].title).toContain("not an image");
    expect(el.querySelector<HTMLImageElement>(".tx-thumb")?.hidden).toBe(true);
  });

  it("revokes its object URLs and removes its listeners when the view goes away", () => {
    const { model, cleanup } = mount();
    cleanup();
    expect(URL.revokeObjectURL).toHaveBeenCalledTimes(3);
    expect(model.listenerCount()).toBe(0);
  });

  it("captions each thumbnail with its prediction and probability, and gives the full text as a plain title", () => {
    expect(cellCaption(item(0, { probability: 0.934 }))).toBe("kite 93%");
    expect(cellCaption(item(0, { predicted: null, probability: null }))).toBe("kite");
    const { el } = mount({ items: [item(0, { name: "a very long file name of a photo.png", probability: 0.5 })] });
    const cell = cells(el)[0];
    expect(cell.querySelector(".tx-cell-class")?.textContent).toBe("kite 50%");
    expect(cell.title).toBe("a very long file name of a photo.png\nclass: kite\npredicted: kite (50.0%)\ngroup: kite/grass");
    expect(cellTitle(item(2, { name: XSS }))).toContain(XSS);
  });

  it("moves the selection with the arrows, stays inside the grid and finds columns", () => {
    expect(moveTo("ArrowRight", 0, 6, 3)).toBe(1);
    expect(moveTo("ArrowDown", 1, 6, 3)).toBe(4);
    expect(moveTo("ArrowDown", 4, 6, 3)).toBe(4);
    expect(moveTo("ArrowLeft", 0, 6, 3)).toBe(0);
    expect(moveTo("ArrowUp", 4, 6, 3)).toBe(1);
    expect(moveTo("End", 0, 6, 3)).toBe(5);
    expect(moveTo("Home", 5, 6, 3)).toBe(0);
    expect(moveTo("ArrowRight", -1, 6, 3)).toBe(0);
    expect(moveTo("a", 0, 6, 3)).toBeNull();
  });

  it("selects with arrow keys, sends Enter as activate and Escape as cancel, pages with PageDown", () => {
    const { el, model } = mount({ selected: 0 });
    const grid = el.querySelector<HTMLElement>(".tx-grid")!;
    const key = (k: string) => cells(el)[0].dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    expect(cells(el).map((c) => c.tabIndex)).toEqual([0, -1, -1]);
    // JupyterLab's shortcuts (Notebook 7 binds ArrowRight on any focused element) skip the widget's keys.
    expect(cells(el).every((c) => c.getAttribute("data-lm-suppress-shortcuts") === "true")).toBe(true);
    key("ArrowRight");
    expect(model.get("selected")).toBe(1);
    expect(cells(el).map((c) => c.getAttribute("aria-selected"))).toEqual(["false", "true", "false"]);
    expect(cells(el).map((c) => c.tabIndex)).toEqual([-1, 0, -1]);
    cells(el)[2].dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.get("selected")).toBe(2);
    expect(model.sent.at(-1)).toEqual({ action: "activate", index: 2 });
    key("Escape");
    expect(model.sent.at(-1)).toEqual({ action: "cancel" });
    key("PageDown");
    expect(model.get("page")).toBe(1);
    expect(grid.style.getPropertyValue("--tx-rows")).toBe("2");
    model.set("rows", 3);
    expect(grid.style.getPropertyValue("--tx-rows")).toBe("3");
  });

  it("keeps the focus on the selected cell when a key moves it", () => {
    const { el } = mount({ selected: 0 });
    cells(el)[0].focus();
    cells(el)[0].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(document.activeElement).toBe(cells(el)[1]);
  });
});
