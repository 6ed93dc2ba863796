// The ImageBrowser widget's view: filters, a pager and a grid of thumbnails; click one to select it.
//
// State lives in the model (synced with texplain_widgets.widgets.browser.ImageBrowser): the
// kernel sends one page of records and JPEG thumbnails (binary buffers); this view renders them
// and writes back the page, the filters and the selection.
import type { RenderProps } from "@anywidget/types";

import { type Bytes, h, pngSetter } from "./dom";
import "./browser.css";

export interface Item {
  index: number;
  name: string;
  label: string | null;
  predicted: string | null;
  correct: boolean | null;
  group: string | null;
  error: string;
}

export interface BrowserModel {
  page: number;
  n_pages: number;
  n_images: number;
  n_shown: number;
  n_predicted: number;
  filter_label: string;
  filter_predicted: string;
  filter_group: string;
  filter_correct: string;
  filter_name: string;
  label_options: string[];
  predicted_options: string[];
  group_options: string[];
  items: Item[];
  thumbnails: Bytes[];
  selected: number;
  error: string;
  [key: string]: unknown;
}

type Filter = "filter_label" | "filter_predicted" | "filter_group" | "filter_correct";

/** The drop-down filters: trait, label, and the trait holding their choices (or fixed ones). */
const FILTERS: { key: Filter; label: string; options: string | string[] }[] = [
  { key: "filter_label", label: "class", options: "label_options" },
  { key: "filter_predicted", label: "predicted", options: "predicted_options" },
  { key: "filter_correct", label: "prediction is", options: ["correct", "incorrect"] },
  { key: "filter_group", label: "group", options: "group_options" },
];

export function render({ model, el }: Pick<RenderProps<BrowserModel>, "model" | "el">): () => void {
  const listeners: [string, () => void][] = [];
  const on = (keys: string[], callback: () => void) => {
    for (const key of keys) {
      model.on(`change:${key}`, callback);
      listeners.push([`change:${key}`, callback]);
    }
    callback();
  };
  const commit = <K extends keyof BrowserModel & string>(key: K, value: BrowserModel[K]) => {
    model.set(key, value);
    model.save_changes();
  };

  const selects = FILTERS.map((filter) => {
    const select = h("select", { class: `tx-filter tx-${filter.key}`, "aria-label": filter.label });
    select.addEventListener("change", () => commit(filter.key, select.value));
    const wrapper = h("label", {}, `${filter.label} `, select);
    return { filter, select, wrapper };
  });
  const search = h("input", { type: "search", class: "tx-filter-name", placeholder: "file name", "aria-label": "file name" });
  search.addEventListener("change", () => commit("filter_name", search.value));
  const previous = h("button", { type: "button", class: "tx-previous", "aria-label": "previous page" }, "‹");
  const next = h("button", { type: "button", class: "tx-next", "aria-label": "next page" }, "›");
  const pageInfo = h("span", { class: "tx-page", "aria-live": "polite" });
  previous.addEventListener("click", () => commit("page", Math.max(0, (model.get("page") ?? 0) - 1)));
  next.addEventListener("click", () => commit("page", (model.get("page") ?? 0) + 1));
  const bar = h(
    "div",
    { class: "tx-browser-bar" },
    ...selects.map(({ wrapper }) => wrapper),
    search,
    previous,
    pageInfo,
    next,
  );
  const error = h("div", { class: "tx-error", role: "alert" });
  const grid = h("div", { class: "tx-grid", role: "listbox", "aria-label": "images" });
  const root = h("div", { class: "tx-browser" }, bar, error, grid);
  el.append(root);

  let thumbs: { dispose(): void }[] = [];
  const drawGrid = () => {
    for (const thumb of thumbs) thumb.dispose();
    thumbs = [];
    const items = model.get("items") ?? [];
    const bytes = model.get("thumbnails") ?? [];
    const selected = model.get("selected");
    grid.replaceChildren(
      ...items.map((item, position) => {
        const img = h("img", { class: "tx-thumb", alt: item.name, loading: "lazy" });
        const setter = pngSetter(img, "image/jpeg");
        setter.set(bytes[position]);
        thumbs.push(setter);
        const verdict = item.correct === null ? "" : item.correct ? "tx-correct" : "tx-incorrect";
        const caption = item.predicted ?? item.label ?? "";
        const cell = h(
          "button",
          {
            type: "button",
            class: ["tx-cell", verdict, item.index === selected ? "tx-selected" : "", item.error ? "tx-broken" : ""]
              .filter(Boolean)
              .join(" "),
            role: "option",
            "aria-selected": item.index === selected ? "true" : "false",
            title: [item.name, item.label && `class: ${item.label}`, item.predicted && `predicted: ${item.predicted}`, item.group && `group: ${item.group}`, item.error]
              .filter(Boolean)
              .join("\n"),
            "data-index": item.index,
          },
          img,
          h("span", { class: "tx-cell-name" }, item.error ? `⚠ ${item.name}` : item.name),
          h("span", { class: "tx-cell-class" }, caption),
        );
        cell.addEventListener("click", () => commit("selected", item.index));
        return cell;
      }),
    );
  };

  on(["items", "thumbnails", "selected"], drawGrid);
  for (const { filter, select } of selects) {
    on([filter.key, ...(typeof filter.options === "string" ? [filter.options] : [])], () => {
      const choices = typeof filter.options === "string" ? ((model.get(filter.options) as string[]) ?? []) : filter.options;
      const current = (model.get(filter.key) as string) ?? "";
      const names = current && !choices.includes(current) ? [...choices, current] : choices;
      select.replaceChildren(h("option", { value: "" }, "all"), ...names.map((name) => h("option", { value: name }, name)));
      select.value = current;
    });
  }
  on(["filter_name"], () => {
    const value = model.get("filter_name") ?? "";
    if (search.value !== value) search.value = value;
  });
  on(["page", "n_pages", "n_shown", "n_images", "n_predicted"], () => {
    const page = model.get("page") ?? 0;
    const pages = model.get("n_pages") ?? 1;
    previous.disabled = page <= 0;
    next.disabled = page >= pages - 1;
    const shown = model.get("n_shown") ?? 0;
    const total = model.get("n_images") ?? 0;
    const predicted = model.get("n_predicted") ?? 0;
    const counts = shown === total ? `${total} images` : `${shown} of ${total} images`;
    const progress = predicted > 0 && predicted < total ? `, ${predicted} predicted` : "";
    pageInfo.textContent = `page ${page + 1} of ${pages} · ${counts}${progress}`;
  });
  on(["error"], () => {
    error.textContent = model.get("error") ?? "";
    error.hidden = !model.get("error");
  });

  return () => {
    for (const [event, callback] of listeners) model.off(event, callback);
    for (const thumb of thumbs) thumb.dispose();
    root.remove();
  };
}

export default { render };
