import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, kill9, LinkProxy } from '@concord/testkit';
import type { Command, NodeConfig } from './nodeProcess.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'nodeProcess.ts');

/** One node process of a test cluster. */
export class NodeProc {
  private child: ChildProcess | undefined;
  private next = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(readonly config: NodeConfig) {}

  get id(): string {
    return this.config.id;
  }

  async start(): Promise<void> {
    const child = fork(WORKER, [JSON.stringify(this.config)], {
      execArgv: ['--conditions=source', '--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { ready?: string; rq?: number; result?: unknown; error?: string }) => {
        if (m.ready) resolve();
        const w = m.rq === undefined ? undefined : this.waiting.get(m.rq);
        if (!w) return;
        this.waiting.delete(m.rq!);
        if (m.error !== undefined) w.reject(Object.assign(new Error(m.error), { code: m.error }));
        else w.resolve(m.result);
      });
      child.once('exit', (code, signal) => {
        for (const w of this.waiting.values())
          w.reject(new Error(`node ${this.id} exited (${code ?? signal})`));
        this.waiting.clear();
        reject(new Error(`node ${this.id} exited before it was ready`));
      });
    });
  }

  call<T = unknown>(cmd: Command): Promise<T> {
    const rq = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(rq, { resolve: resolve as (v: unknown) => void, reject });
      this.child!.send({ rq, cmd });
    });
  }

  /** Like `call`, answering the error code instead of throwing (a TIMEOUT is an outcome here). */
  attempt(cmd: Command): Promise<string> {
    return this.call(cmd).then(
      () => 'ok',
      (e: { code?: string }) => e.code ?? 'error',
    );
  }

  async kill9(): Promise<void> {
    if (this.child) await kill9(this.child);
  }
}

/**
 * `n` node processes on loopback, each link between two of them (each direction) through a
 * proxy the test can cut: `partition([[a, b], [c, d, e]])` cuts every link across groups.
 */
export class TestCluster {
  private constructor(
    readonly nodes: NodeProc[],
    /** proxies[i][j]: the link i dials to reach j. */
    private readonly proxies: (LinkProxy | undefined)[][],
  ) {}

  static async start(n: number): Promise<TestCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-'));
    const ports = await freePorts(n);
    const ids = ports.map((_, i) => `n${i + 1}`);
    const proxies = await Promise.all(
      ports.map((_, i) =>
        Promise.all(
          ports.map((port, j) => (i === j ? undefined : LinkProxy.start(`ws://127.0.0.1:${port}`))),
        ),
      ),
    );
    const nodes = ids.map((id, i) => {
      const routes = Object.fromEntries(
        ids.flatMap((peer, j) => (i === j ? [] : [[peer, proxies[i]![j]!.url()]])),
      );
      return new NodeProc({
        id,
        port: ports[i]!,
        dir,
        seeds: i === 0 ? [] : [routes.n1!],
        routes,
        replicas: ids,
      });
    });
    for (const node of nodes) await node.start();
    return new TestCluster(nodes, proxies);
  }

  node(id: string): NodeProc {
    return this.nodes.find((n) => n.id === id)!;
  }

  /** Cuts every link between different groups (both ways) and heals every link within one. */
  partition(groups: readonly (readonly string[])[]): void {
    const group = new Map(groups.flatMap((g, gi) => g.map((id) => [id, gi] as const)));
    this.eachLink((from, to, proxy) => {
      if (group.get(from) === group.get(to)) proxy.heal();
      else proxy.cut();
    });
  }

  heal(): void {
    this.eachLink((_f, _t, proxy) => proxy.heal());
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill9()));
    const all: LinkProxy[] = [];
    this.eachLink((_f, _t, p) => all.push(p));
    await Promise.all(all.map((p) => p.close()));
  }

  private eachLink(fn: (from: string, to: string, proxy: LinkProxy) => void): void {
    this.proxies.forEach((row, i) => {
      row.forEach((p, j) => {
        if (p) fn(this.nodes[i]!.id, this.nodes[j]!.id, p);
      });
    });
  }
}
