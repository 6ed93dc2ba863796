// A stand-in for the widget model that anywidget hands to `render`: get/set/on/off/save_changes
// and send, with `change:KEY` events fired by set (as Backbone does), and a record of what the
// view saved and sent.
type Callback = (...args: unknown[]) => void;

export class FakeModel<T extends Record<string, unknown>> {
  state: T;
  saved: Partial<T>[] = [];
  sent: unknown[] = [];
  private pending: Partial<T> = {};
  private callbacks = new Map<string, Set<Callback>>();

  constructor(state: T) {
    this.state = { ...state };
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.state[key];
  }

  set<K extends keyof T>(key: K, value: T[K]): void {
    const changed = this.state[key] !== value;
    this.state[key] = value;
    this.pending[key] = value;
    if (changed) this.emit(`change:${String(key)}`);
  }

  /** What the kernel would do: change a trait and notify the view. */
  update(changes: Partial<T>): void {
    for (const [key, value] of Object.entries(changes)) {
      this.state[key as keyof T] = value as T[keyof T];
      this.emit(`change:${key}`);
    }
  }

  on(event: string, callback: Callback): void {
    if (!this.callbacks.has(event)) this.callbacks.set(event, new Set());
    this.callbacks.get(event)?.add(callback);
  }

  off(event?: string | null, callback?: Callback | null): void {
    if (!event) return this.callbacks.clear();
    if (!callback) return void this.callbacks.delete(event);
    this.callbacks.get(event)?.delete(callback);
  }

  save_changes(): void {
    this.saved.push(this.pending);
    this.pending = {};
  }

  send(content: unknown): void {
    this.sent.push(content);
  }

  listenerCount(): number {
    let n = 0;
    for (const set of this.callbacks.values()) n += set.size;
    return n;
  }

  private emit(event: string): void {
    for (const callback of this.callbacks.get(event) ?? []) callback();
  }
}
