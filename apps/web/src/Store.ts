/**
 * A value that changes over time, in the shape React's `useSyncExternalStore` reads: `subscribe`
 * and `state`; subclasses `set` it and every subscriber is told.
 */
export class Store<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private current: T) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly state = (): T => this.current;

  protected set(next: T): void {
    this.current = next;
    for (const l of this.listeners) l();
  }
}
