import { type Content, Run } from './Run.js';

/** Leaves split above this many runs, branches above this many children. */
const MAX_RUNS = 64;
const MAX_CHILDREN = 32;

type Node<C> = Leaf<C> | Branch<C>;

export class Leaf<C> {
  readonly runs: Run<C>[] = [];
  visible = 0;
  total = 0;
  parent: Branch<C> | null = null;
  next: Leaf<C> | null = null;
}

export class Branch<C> {
  readonly children: Node<C>[] = [];
  visible = 0;
  total = 0;
  parent: Branch<C> | null = null;
}

/** Where an element is: in `run`, at `offset` from its start. */
export interface Cursor<C> {
  readonly run: Run<C>;
  readonly offset: number;
}

/**
 * An order-statistic B+tree over the runs of a sequence, in document order. Every node knows
 * how many visible elements and how many elements in all (tombstones included) lie below it,
 * so finding the element at a visible position, or the position of a run, costs O(log n)
 * (a few dozen comparisons per level), whatever the length of the document.
 */
export class RunTree<C> {
  private root: Node<C>;
  private firstLeaf: Leaf<C>;
  private lastLeaf: Leaf<C>;

  constructor(private readonly content: Content<C>) {
    this.firstLeaf = new Leaf<C>();
    this.lastLeaf = this.firstLeaf;
    this.root = this.firstLeaf;
  }

  /** Appends `run` at the end of the sequence: building a copy in document order, no search. */
  append(run: Run<C>): void {
    this.insert(run, this.lastLeaf, this.lastLeaf.runs.length);
  }

  get visibleLength(): number {
    return this.root.visible;
  }

  get totalLength(): number {
    return this.root.total;
  }

  first(): Run<C> | undefined {
    return this.firstLeaf.runs[0];
  }

  /** The run after `run` in document order. */
  next(run: Run<C>): Run<C> | undefined {
    let leaf: Leaf<C> | null = run.leaf;
    const i = leaf.runs.indexOf(run);
    if (i + 1 < leaf.runs.length) return leaf.runs[i + 1];
    for (leaf = leaf.next; leaf; leaf = leaf.next) if (leaf.runs.length > 0) return leaf.runs[0];
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<Run<C>> {
    for (let leaf: Leaf<C> | null = this.firstLeaf; leaf; leaf = leaf.next) yield* leaf.runs;
  }

  /** The visible element at visible position `pos` (0 ≤ pos < visibleLength). */
  findVisible(pos: number): Cursor<C> {
    let node: Node<C> = this.root;
    while (node instanceof Branch) {
      let child: Node<C> | undefined;
      for (child of node.children) {
        if (pos < child.visible) break;
        pos -= child.visible;
      }
      node = child!;
    }
    for (const run of node.runs) {
      const v = run.visible;
      if (pos < v) return { run, offset: pos };
      pos -= v;
    }
    throw new RangeError('visible position beyond the end');
  }

  /** The position of `run`'s first element, counting tombstones (`visible` false) or not. */
  positionOf(run: Run<C>, visible: boolean): number {
    const leaf = run.leaf;
    let pos = 0;
    for (const r of leaf.runs) {
      if (r === run) break;
      pos += visible ? r.visible : r.len;
    }
    let child: Node<C> = leaf;
    for (let parent = leaf.parent; parent; child = parent, parent = parent.parent) {
      for (const c of parent.children) {
        if (c === child) break;
        pos += visible ? c.visible : c.total;
      }
    }
    return pos;
  }

  /** Inserts `run` at index `index` of `leaf` (or at the very start with no leaf). */
  insert(run: Run<C>, leaf: Leaf<C> = this.firstLeaf, index = 0): void {
    leaf.runs.splice(index, 0, run);
    run.leaf = leaf;
    this.resized(leaf, run.visible, run.len);
    if (leaf.runs.length > MAX_RUNS) this.splitNode(leaf);
  }

  /** Inserts `run` right after `after`. */
  insertAfter(after: Run<C>, run: Run<C>): void {
    this.insert(run, after.leaf, after.leaf.runs.indexOf(after) + 1);
  }

  /**
   * Splits `run` at `offset` (0 < offset < len); the right part, returned, follows it in
   * document order and in its fragment chain. Its left origin is the last element of the left part.
   */
  split(run: Run<C>, offset: number): Run<C> {
    const right = new Run<C>(
      run.replica,
      run.seq + offset,
      run.len - offset,
      run.content === null ? null : this.content.slice(run.content, offset),
      run.replica,
      run.seq + offset - 1,
      run.orReplica,
      run.orSeq,
    );
    right.nextFragment = run.nextFragment;
    run.nextFragment = right;
    run.len = offset;
    if (run.content !== null) run.content = this.content.slice(run.content, 0, offset);
    const leaf = run.leaf;
    leaf.runs.splice(leaf.runs.indexOf(run) + 1, 0, right);
    right.leaf = leaf;
    if (leaf.runs.length > MAX_RUNS) this.splitNode(leaf);
    return right;
  }

  /** Appends `extra` to the end of `run` (local typing): no new run, no split. */
  extend(run: Run<C>, extra: C, n: number): void {
    run.content = this.content.concat(run.content!, extra);
    run.len += n;
    this.resized(run.leaf, n, n);
  }

  /**
   * Turns `run` into a tombstone, then merges it with its neighbours where they are the pieces
   * of one run on either side and deleted too: deleting a word letter by letter leaves one
   * tombstone, not one per letter. Returns the run that now holds it.
   */
  markDeleted(run: Run<C>): Run<C> {
    const v = run.visible;
    run.content = null;
    this.resized(run.leaf, -v, 0);
    const runs = run.leaf.runs;
    let i = runs.indexOf(run);
    const prev = runs[i - 1];
    if (prev && prev.content === null && prev.nextFragment === run) {
      this.absorb(prev, i);
      run = prev;
      i--;
    }
    const next = runs[i + 1];
    if (next && next.content === null && run.nextFragment === next) this.absorb(run, i + 1);
    return run;
  }

  /** Merges the run at `index` of `into`'s leaf, its successor piece, into `into`. */
  private absorb(into: Run<C>, index: number): void {
    const gone = into.leaf.runs[index]!;
    into.len += gone.len;
    into.nextFragment = gone.nextFragment;
    into.leaf.runs.splice(index, 1);
  }

  private resized(leaf: Leaf<C>, dVisible: number, dTotal: number): void {
    for (let node: Node<C> | null = leaf; node; node = node.parent) {
      node.visible += dVisible;
      node.total += dTotal;
    }
  }

  /** Moves the upper half of a full node into a new right sibling. */
  private splitNode(node: Node<C>): void {
    let right: Node<C>;
    if (node instanceof Leaf) {
      const leaf = new Leaf<C>();
      for (const r of node.runs.splice(node.runs.length >> 1)) {
        leaf.runs.push(r);
        r.leaf = leaf;
        leaf.visible += r.visible;
        leaf.total += r.len;
      }
      leaf.next = node.next;
      node.next = leaf;
      if (this.lastLeaf === node) this.lastLeaf = leaf;
      right = leaf;
    } else {
      const branch = new Branch<C>();
      for (const c of node.children.splice(node.children.length >> 1)) {
        branch.children.push(c);
        c.parent = branch;
      }
      for (const c of branch.children) {
        branch.visible += c.visible;
        branch.total += c.total;
      }
      right = branch;
    }
    node.visible -= right.visible;
    node.total -= right.total;
    this.attachSibling(node, right);
  }

  /** Puts `right` after `left` in their parent, growing the tree by a level at the root. */
  private attachSibling(left: Node<C>, right: Node<C>): void {
    let parent = left.parent;
    if (!parent) {
      parent = new Branch<C>();
      parent.children.push(left);
      parent.visible = left.visible + right.visible;
      parent.total = left.total + right.total;
      left.parent = parent;
      this.root = parent;
    }
    parent.children.splice(parent.children.indexOf(left) + 1, 0, right);
    right.parent = parent;
    if (parent.children.length > MAX_CHILDREN) this.splitNode(parent);
  }
}
