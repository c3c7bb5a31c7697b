// `npm run bench [-- --json] [-- --quick] [-- --write]`: runs every suite, prints tables (ratios to
// Yjs where an anchor exists), or one JSON object per line with --json; --write records bench/RESULTS.md.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { catalogueSuite } from './catalogue.suite.js';
import { catalogueMapSuite } from './catalogue-map.suite.js';
import { feedSuite } from './feed.suite.js';
import { FAILURES, type Result, round, table } from './harness.js';
import { labelsSuite } from './labels.suite.js';
import { type MachineSpeed, probeMachine } from './machine.js';
import { retailSuite } from './retail.suite.js';
import { storeAppSuite } from './store.suite.js';
import { syncSuite } from './sync.suite.js';
import { textMergeSuite, textTraceSuite } from './text.suite.js';

const DESCRIPTIONS: Record<string, string> = {
  'product-map':
    'Seed 000: a product catalogue as one replicated map — build it, apply the hourly update (1% of prices), encode, load and read every value.',
  retail:
    "Seed 000's retail catalogue: n products × 12 fields; Yjs, Loro and Automerge hold it as a map of maps, Concord as a collection of documents (a register per field) in a Database with memory storage. Build it, encode it whole, cold-load it and read every value, change 1% of the prices (time, and the delta another replica needs), merge that delta into a second replica; memory held after a cold load, measured in a fresh process (V8 heap + external, which includes array buffers and WebAssembly memory). Each system runs in a process of its own, in three rounds (one with --quick) with the systems in turn (the machine's drift hits them alike); each time is the median of its rounds, each round's the median of three runs.",
  database:
    "What only Concord's database does, on the same catalogue: the hourly feed re-upserted whole with 1% of prices changed (it must record exactly n/100 changes), reopening from a SQLite file until every document is a JavaScript object (`open` + `find()`) beside JSON.parse of the same catalogue as one JSON array (the two in turn, each from a collected heap, values checked after the clock stops), and queries served by secondary indexes (ms per query, and how many documents the index hands to the filter).",
  sync: "Issue 5's sync over WebSockets on loopback, the server in its own process: a fresh client's initial sync of the retail catalogue (time to `synced()` and every value read, bytes on the wire both ways) beside downloading the same catalogue as gzip JSON from a static HTTP server and JSON.parse; then reconnecting after the hourly update changed 1% of the prices while the client was away (bytes both ways) beside the raw size of the changed values (the prices as JSON text; and with their ids).",
  'initial-sync':
    "Issue 19's morning: 20 stores start their initial sync of the retail catalogue at once against one `concord serve`-like server in its own process, the stores spread over two client processes (10 each, every one checking the whole catalogue it got), beside the same 20 downloads of the catalogue as one pre-gzipped JSON file from a static server in the same two processes (JSON.parse, checked). Wall time until every store holds it, and the server process's CPU seconds for the lot (from /proc): each assortment's snapshot is built once and its frames sent to every store asking (`SnapshotCache`). The gzip JSON runs before and after Concord; the table holds the mean of the two. Target: at most 1.5× the gzip JSON wall time.",
  'fan-out':
    'One writer and 1,000 subscribed clients (all in one process, the server in another; for `concord-3-nodes`, three `concord serve --postgres … --nats …` nodes of one deployment, the clients spread over them, the writer on the first, each change crossing the change log of the deployment on NATS JetStream): latency from a write to each client having applied it, over 50 writes after 5 unmeasured ones, beside a y-websocket server (@y/websocket-server) and 1,000 Yjs WebsocketProvider clients doing the same; each system runs 3 times, interleaved, and the table holds the median of the runs. (More writes per run would measure something else: after about 15 s, the awareness renewals of y-websocket — from every client, to every client — swamp the process of its clients.)',
  writes:
    'Writes acknowledged per second, each only once durable: 30 clients (in one process) each writing batches of 20 documents and waiting for the server to hold them, for 10 s; one `concord serve` on a SQLite file, beside three nodes of a deployment (`--postgres … --nats …`: durable once in the change log on NATS JetStream, and applied by every node), the clients spread over them. On this 2-core machine the nodes, NATS and the clients share the cores: three nodes show what the change log costs, not what more machines would add. The median of the runs, interleaved.',
  feed: "Issue 18's feed pipeline as a user runs it, on this machine's NATS JetStream (nats-server 2.9) and PostgreSQL: `concord serve --postgres … --nats … --ingest products` in its own process — a node of a deployment: the catalogue in memory, each change published to the deployment's change log before the feed message is acknowledged, and the SQL projection in PostgreSQL, the retail catalogue (12 fields) published from a JSON Lines file with `publishFeed`. Rates are products over the time from the start of the publish until that stage holds the whole feed (the consumers run while the publish goes on). Everything shares the 2 cores: publisher, NATS, PostgreSQL, server. For scale, PowerSync documents 2,000–4,000 replicated operations/s into its service and ElectricSQL 4,000–6,000 row changes/s (their figures, not run here). One run.",
  'feed-update':
    "The hourly update: the whole feed republished with 1% of the prices changed, to store clients connected over WebSockets (in two processes of their own), each following an assortment of 1,000 products by partial replication (`_id` range; ten stores per range). Latency from the start of the publish (including its read of the stream's current content) to each store holding every new price of its assortment, p50 and p99 over the stores; the catalogue changes the diff consumer made (exactly the changed prices, none for the 99% unchanged); the bytes the stores received per changed price each store holds.",
  labels:
    "Issue 20's shelf labels rendered in Node (`renderLabels`, pdfkit and bwip-js, fonts embedded): the retail catalogue's first 1,000 products on the shelf-strip template (21 to an A4 sheet, each with its EAN-13 barcode as vectors), and 200 on the promotion sign (2 to a sheet), one process, one thread; the median of the runs after an unmeasured one. `concord-chromium`: 100 strip labels rendered in Debian's Chromium by the page's build of @concord/labels (fonts fetched as assets): the first render in a fresh page (fonts parsed, code compiled), then the median of 5 more. No public figure exists to compare with; our target is at least 1,000 strip labels a second.",
  'store-app':
    "Issue 20's store app in Debian's Chromium: the page's store view (`?store=s1`, a replica of its own in IndexedDB following the store's products by partial replication) with every product of the retail catalogue carried by s1, against `concord serve`'s sync server in the bench process (SQLite file, WebSocket on loopback) serving the built page. First sync: from switching the store view (opened offline, empty) online until all n products are searchable (synced, durable in IndexedDB, in the view's index for search and the print queue: a search finds them, their search texts made as it asks or in slices of idle time after), beside the same tab fetching and parsing the catalogue as one gzip JSON file from a static server (the median of 3) — the target is at most twice that. `first sync` is the first store's, whose request has the server build the snapshot of its products as it streams it (the machine's 2 cores shared by the server's deflate and the page); `first sync, snapshot cached` is the median of 3 stores after it (each a tab with an empty IndexedDB of its own, which fetches the gzip JSON twice just before, the second timed: the baseline beside them), which fetch the chunks that snapshot left over HTTP — as every store of an assortment does until the catalogue changes, and as the gzip JSON file was compressed before it was fetched; with page load: the same from navigating a fresh tab to the store view (the page's code loaded, IndexedDB opened, the app drawn; a write in between, so that both build their snapshot on the server). Usable after a reload while offline: from navigation until all n products are searchable (their search texts made), from IndexedDB alone (target: under 1 s). Search as you type: from a keystroke's input event to the next paint, over 10 queries typed in each run (target: under 50 ms). The median of the runs.",
  text: 'Text CRDTs on the editing traces of bench/data, and the crdt-benchmarks merge shapes (2 and √N replicas inserting concurrently, then all updates merged into a fresh document). Memory is measured in a fresh process holding the loaded documents.',
};

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const runs = quick ? 1 : 3;

// The machine's speed before and after the suites (see machine.ts): it drifts during a run.
const before = probeMachine();
const catalogue = catalogueSuite(quick ? [1000] : [1000, 100_000]);
const anchored = [
  ...retailSuite(quick ? [2000] : [20_000, 100_000], quick ? 1 : 3, quick ? 1 : 3),
  ...catalogueMapSuite(quick ? 10_000 : 100_000),
  ...textTraceSuite(runs),
  ...textMergeSuite(quick ? 2000 : 6000, quick ? [2, 44] : [2, 77], runs),
  ...syncSuite(quick ? [20_000] : [100_000], quick ? 100 : 1000, runs),
  ...feedSuite(quick ? 20_000 : 100_000, quick ? 100 : 1000),
  ...labelsSuite(1000, 100, quick ? 3 : 5),
  ...storeAppSuite(quick ? 20_000 : 100_000, runs),
];
const after = probeMachine();
const speeds: Result[] = (
  [
    ['before', before],
    ['after', after],
  ] as const
).flatMap(([when, speed]) => [
  { suite: 'machine', system: when, metric: 'fresh memory 64 MB ms', value: speed.freshMemoryMs },
  { suite: 'machine', system: when, metric: 'integer loop ms', value: speed.loopMs },
]);
const all = [...speeds, ...catalogue, ...anchored];

if (args.has('--json')) {
  for (const r of all) console.log(JSON.stringify({ ...r, value: round(r.value) }));
} else {
  const report = render(catalogue, anchored, before, after);
  console.log(report);
  if (args.has('--write')) writeFileSync(new URL('./RESULTS.md', import.meta.url), report);
}

/** The system each result is compared with: Yjs, or for sync the plain-HTTP and y-websocket baselines. */
function anchor(suite: string, metric: string): string {
  if (suite.startsWith('sync/'))
    return metric.startsWith('reconnect') ? 'raw changed values' : 'http-gzip-json';
  if (suite.startsWith('fan-out/')) return 'y-websocket';
  if (suite.startsWith('initial-sync/')) return 'http-gzip-json';
  if (suite.startsWith('writes/')) return 'concord-1-node';
  if (suite.startsWith('store-app/')) return 'gzip-json';
  return 'yjs';
}

/** Which way a ratio table reads: a rate (a metric per second) is better higher, a time or a size lower. */
function direction(metrics: readonly string[]): string {
  const rates = [...new Set(metrics.filter((m) => m.endsWith('/s')))];
  if (rates.length === 0) return 'lower is better for every column';
  if (rates.length === new Set(metrics).size) return 'higher is better for every column';
  return `lower is better, except ${rates.join(', ')}: higher is better`;
}

function render(
  catalogue: readonly Result[],
  anchored: readonly Result[],
  before: MachineSpeed,
  after: MachineSpeed,
): string {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
  const ms = (x: number) => `${Math.round(x)} ms`;
  const parts = [
    '# Benchmark results',
    '',
    `Machine: ${machine}. Recorded ${new Date().toISOString().slice(0, 10)} by \`npm run bench -- --write\`.`,
    '',
    `Its speed at the start and at the end of the run (\`bench/machine.ts\`; on this VM rows that allocate much follow the first, which swings between days): writing into every page of 64 MB of fresh memory ${ms(before.freshMemoryMs)} → ${ms(after.freshMemoryMs)}; a fixed integer loop ${ms(before.loopMs)} → ${ms(after.loopMs)}.`,
    '',
  ];
  for (const suite of new Set(catalogue.map((r) => r.suite))) {
    parts.push(`## ${suite}: CRDT catalogue`, '');
    parts.push(
      'One op of merge / encode / decode handles a whole state of that many elements (merge = `merge(a, b)` of two replicas that differ on a tenth). Mutate updates an existing element. An element is a replica entry for the counters, a key for the maps, a member for the sets; the registers and Flag hold one value after that many writes.',
      '',
    );
    parts.push(
      table(
        catalogue.filter((r) => r.suite === suite),
        (r) => r.system,
        (r) => r.metric,
      ),
      '',
    );
  }
  for (const suite of new Set(anchored.map((r) => r.suite))) {
    const rows = anchored.filter((r) => r.suite === suite);
    parts.push(`## ${suite}`, '', DESCRIPTIONS[suite.split('/')[0]!] ?? '', '');
    for (const f of FAILURES.filter((x) => x.startsWith(`${suite}:`))) parts.push(`- ${f}`, '');
    parts.push(
      table(
        rows,
        (r) => r.system,
        (r) => r.metric,
      ),
      '',
    );
    const ratios = rows.flatMap((r) => {
      const name = anchor(suite, r.metric);
      const base = rows.find((y) => y.system === name && y.metric === r.metric);
      return base && r.system !== name ? [{ ...r, value: r.value / base.value }] : [];
    });
    if (ratios.length === 0) continue;
    parts.push(
      `Ratio to ${[...new Set(rows.map((r) => anchor(suite, r.metric)))].filter((a) => rows.some((r) => r.system === a)).join(' / ')} (${direction(ratios.map((r) => r.metric))}):`,
      '',
    );
    parts.push(
      table(
        ratios,
        (r) => r.system,
        (r) => r.metric,
      ),
      '',
    );
  }
  const reported = new Set([...catalogue, ...anchored].map((r) => r.suite));
  const unreported = FAILURES.filter((f) => !reported.has(f.split(':')[0]!));
  if (unreported.length > 0) parts.push('## Failed', '', ...unreported.map((f) => `- ${f}`), '');
  return parts.join('\n');
}
