// The ImageBrowser widget's view: filters, a pager and a grid of thumbnails; click one to select it.
// The grid shows `rows` rows (it scrolls); keys: arrows move the selection, Home/End, PageUp/PageDown
// page, Enter asks the kernel to generate for the selected image, Escape to cancel.
//
// State lives in the model (synced with texplain_widgets.widgets.browser.ImageBrowser): the
// kernel sends one page of records and JPEG thumbnails (binary buffers); this view renders them
// and writes back the page, the filters and the selection.
import type { RenderProps } from "@anywidget/types";

import { binding, type Bytes, h, pngSetter } from "./dom";
import "./browser.css";

export interface Item {
  index: number;
  name: string;
  label: string | null;
  predicted: string | null;
  probability?: number | null;
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
  rows: number;
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

/** A thumbnail's caption: its prediction and probability (or its class when not predicted yet). */
export function cellCaption(item: Item): string {
  if (item.predicted) {
    const p = item.probability;
    return typeof p === "number" && Number.isFinite(p) ? `${item.predicted} ${Math.round(100 * p)}%` : item.predicted;
  }
  return item.label ?? "";
}

/** A cell's tooltip, text only: the full name, class, prediction, group and any error. */
export function cellTitle(item: Item): string {
  const probability = typeof item.probability === "number" ? ` (${(100 * item.probability).toFixed(1)}%)` : "";
  return [
    item.name,
    item.label && `class: ${item.label}`,
    item.predicted && `predicted: ${item.predicted}${probability}`,
    item.group && `group: ${item.group}`,
    item.error,
  ]
    .filter(Boolean)
    .join("\n");
}

/** Where an arrow (or Home/End) key moves the selection in a grid of `count` cells, `columns` wide; null: not a move. */
export function moveTo(key: string, position: number, count: number, columns: number): number | null {
  if (count === 0) return null;
  const from = position < 0 ? 0 : position;
  const step: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns };
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  if (!(key in step)) return null;
  if (position < 0) return 0;
  const next = from + step[key];
  return next < 0 || next >= count ? from : next;
}

/** The number of columns of a CSS grid, from its cells' positions (1 when it cannot tell). */
function columnsOf(cells: HTMLElement[]): number {
  if (cells.length === 0) return 1;
  const top = cells[0].offsetTop;
  const n = cells.findIndex((cell) => cell.offsetTop !== top);
  return n > 0 ? n : cells.length > 1 && cells[1].offsetLeft > cells[0].offsetLeft ? cells.length : 1;
}

export function render({ model, el }: Pick<RenderProps<BrowserModel>, "model" | "el">): () => void {
  const { on, commit, dispose } = binding(model);

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
  );
  const pager = h("div", { class: "tx-pager" }, previous, pageInfo, next);
  const error = h("div", { class: "tx-error", role: "alert" });
  const grid = h("div", { class: "tx-grid", role: "listbox", "aria-label": "images" });
  // data-lm-suppress-shortcuts: keys pressed inside the widget are its own, not JupyterLab's (arrows, Enter, Escape).
  const root = h("div", { class: "tx-browser", "data-lm-suppress-shortcuts": "true" }, bar, pager, error, grid);
  el.append(root);

  let thumbs: { dispose(): void }[] = [];
  let cells: HTMLButtonElement[] = [];
  const drawGrid = () => {
    for (const thumb of thumbs) thumb.dispose();
    thumbs = [];
    const items = model.get("items") ?? [];
    const bytes = model.get("thumbnails") ?? [];
    const focused = grid.contains(document.activeElement);
    cells = items.map((item, position) => {
      const img = h("img", { class: "tx-thumb", alt: item.name, loading: "lazy" });
      const setter = pngSetter(img, "image/jpeg");
      setter.set(bytes[position]);
      thumbs.push(setter);
      const verdict = item.correct === null ? "" : item.correct ? "tx-correct" : "tx-incorrect";
      const cell = h(
        "button",
        {
          type: "button",
          class: ["tx-cell", verdict, item.error ? "tx-broken" : ""].filter(Boolean).join(" "),
          role: "option",
          // On the cell itself: Lumino matches shortcut selectors such as `... :focus` on the
          // focused element before it looks at ancestors (Notebook 7 binds ArrowRight so).
          "data-lm-suppress-shortcuts": "true",
          title: cellTitle(item),
          "data-index": item.index,
        },
        img,
        h("span", { class: "tx-cell-name" }, item.error ? `⚠ ${item.name}` : item.name),
        h("span", { class: "tx-cell-class" }, cellCaption(item)),
      );
      cell.addEventListener("click", () => commit("selected", item.index));
      return cell;
    });
    grid.replaceChildren(...cells);
    markSelected(focused);
  };
  // The selection: marked, the only cell in the tab order, scrolled into view, focused if the grid had the focus.
  const markSelected = (focus = grid.contains(document.activeElement)) => {
    const selected = model.get("selected");
    let current = cells.find((cell) => Number(cell.dataset.index) === selected);
    for (const cell of cells) {
      const on = cell === current;
      cell.classList.toggle("tx-selected", on);
      cell.setAttribute("aria-selected", on ? "true" : "false");
      cell.tabIndex = -1;
    }
    current = current ?? cells[0];
    if (current) {
      current.tabIndex = 0;
      if (focus) current.focus({ preventScroll: true });
      if (focus || current.classList.contains("tx-selected")) current.scrollIntoView?.({ block: "nearest" });
    }
  };
  grid.addEventListener("keydown", (event) => {
    const position = cells.findIndex((cell) => Number(cell.dataset.index) === model.get("selected"));
    const page = model.get("page") ?? 0;
    if (event.key === "Enter" || event.key === " ") {
      const cell = (event.target as HTMLElement).closest?.<HTMLButtonElement>(".tx-cell");
      const index = cell ? Number(cell.dataset.index) : model.get("selected");
      event.preventDefault();
      if (index !== model.get("selected")) commit("selected", index);
      if (event.key === "Enter" && index >= 0) model.send({ action: "activate", index });
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      model.send({ action: "cancel" });
      return;
    }
    if (event.key === "PageDown" || event.key === "PageUp") {
      event.preventDefault();
      const to = event.key === "PageDown" ? Math.min(page + 1, (model.get("n_pages") ?? 1) - 1) : Math.max(page - 1, 0);
      if (to !== page) commit("page", to);
      return;
    }
    const next = moveTo(event.key, position, cells.length, columnsOf(cells));
    if (next === null) return;
    event.preventDefault();
    const index = Number(cells[next].dataset.index);
    if (index !== model.get("selected")) commit("selected", index);
    else cells[next].focus();
  });

  on(["items", "thumbnails"], drawGrid);
  on(["selected"], () => markSelected());
  on(["rows"], () => grid.style.setProperty("--tx-rows", String(Math.max(1, Number(model.get("rows")) || 2))));
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
    dispose();
    for (const thumb of thumbs) thumb.dispose();
    root.remove();
  };
}

export default { render };
