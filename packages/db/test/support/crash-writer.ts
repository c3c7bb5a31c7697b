// The child of crash.test.ts: writes to a SQLite database in a loop until it is killed. Each
// transaction adds document `w-<i>`, moves `last` to i and counts it in `total` (a counter) —
// three changes that must all survive or all vanish. The line `ack <i>` goes to stdout only
// after the transaction's promise resolved, i.e. once the database says it is durable; stdout
// is a pipe, which Node writes synchronously on Linux, so a line written is a line the parent
// reads even if SIGKILL comes next.
import { counter, Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: crash-writer <sqlite file>');

const db = await Database.open({ storage: await SqliteStorage.open(file) });
const products = db.collection('products');
let i = ((await products.get('total'))?.count as number | undefined) ?? 0;
process.stdout.write(`ready ${i}\n`);
for (;;) {
  const n = i;
  await db.transaction((tx) => {
    tx.upsert('products', { _id: `w-${n}`, n, label: `product ${n}`.repeat(1 + (n % 7)) });
    tx.upsert('products', { _id: 'last', n });
    tx.upsert('products', { _id: 'total', count: counter(n + 1) });
  });
  process.stdout.write(`ack ${n}\n`);
  i++;
}
