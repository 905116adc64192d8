// The event side of IndexedDB: targets with on<type> handlers and listeners, and events that bubble from a request to
// its transaction and database. Only what IndexedDB users need (no capture phase).
export interface IdbEvent {
  readonly type: string;
  readonly target: unknown;
  currentTarget: unknown;
  readonly bubbles: boolean;
  readonly cancelable: boolean;
  defaultPrevented: boolean;
  preventDefault(): void;
  stopPropagation(): void;
  readonly oldVersion?: number;
  readonly newVersion?: number | null;
}

type Listener = (ev: IdbEvent) => unknown;

export class IdbEventTarget {
  private listeners: Map<string, Set<Listener>> | undefined;
  /** Where the event goes next when it bubbles (request -> transaction -> database). */
  protected parentTarget(): IdbEventTarget | undefined {
    return undefined;
  }

  addEventListener(type: string, listener: Listener | null): void {
    if (!listener) return;
    this.listeners ??= new Map();
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener | null): void {
    if (listener) this.listeners?.get(type)?.delete(listener);
  }

  /**
   * Delivers an event here and, if it bubbles, up the chain. Returns whether a handler cancelled it. A handler that
   * throws is reported through `onHandlerError` (IndexedDB then aborts the transaction).
   */
  dispatch(type: string, opts: { bubbles?: boolean; cancelable?: boolean; oldVersion?: number; newVersion?: number | null } = {}, onHandlerError?: (err: unknown) => void): boolean {
    let stopped = false;
    const ev: IdbEvent = {
      type,
      target: this,
      currentTarget: this,
      bubbles: opts.bubbles ?? false,
      cancelable: opts.cancelable ?? false,
      defaultPrevented: false,
      preventDefault() {
        if (this.cancelable) this.defaultPrevented = true;
      },
      stopPropagation() {
        stopped = true;
      },
      ...(opts.oldVersion !== undefined ? { oldVersion: opts.oldVersion, newVersion: opts.newVersion ?? null } : {}),
    };
    for (let t: IdbEventTarget | undefined = this; t && !stopped; t = ev.bubbles ? t.parentTarget() : undefined) {
      ev.currentTarget = t;
      const handler = (t as unknown as Record<string, unknown>)[`on${type}`];
      const all: Listener[] = [...(typeof handler === "function" ? [handler as Listener] : []), ...(t.listeners?.get(type) ?? [])];
      for (const l of all) {
        try {
          l.call(t, ev);
        } catch (err) {
          onHandlerError?.(err);
        }
      }
    }
    return ev.defaultPrevented;
  }
}

/** A DOMStringList: sorted names with item() and contains(). */
export function stringList(names: Iterable<string>): string[] & { item(i: number): string | null; contains(s: string): boolean } {
  const list = [...names].sort();
  return Object.assign(list, {
    item: (i: number) => list[i] ?? null,
    contains: (s: string) => list.includes(s),
  });
}
