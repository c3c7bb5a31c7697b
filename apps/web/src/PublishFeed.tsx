import { useState } from 'react';

/** A feed's Content-Type by its file name, as `POST /api/feed` takes it. */
function feedType(name: string): string | undefined {
  if (/\.(jsonl|ndjson)$/i.test(name)) return 'application/x-ndjson';
  if (/\.csv$/i.test(name)) return 'text/csv';
  return undefined;
}

type Outcome =
  | { readonly ok: true; readonly published: number; readonly stored: number; readonly duplicates: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * The head office's hourly feed, uploaded from here to the server that ingests it (`POST
 * /api/feed`): published to the feed's stream on NATS JetStream, only what changed stored,
 * then taken into the catalogue by the server's consumers — and on to the stores.
 */
export function PublishFeed() {
  const [file, setFile] = useState<File | undefined>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const type = file && feedType(file.name);
  const publish = async () => {
    if (!file || !type) return;
    setBusy(true);
    setOutcome(undefined);
    try {
      const res = await fetch('/api/feed', { method: 'POST', headers: { 'content-type': type }, body: file });
      const body = (await res.json()) as Record<string, unknown>;
      const error = body.error as { code: string; message: string } | undefined;
      setOutcome(error ? { ok: false, ...error } : ({ ok: true, ...body } as Outcome));
    } catch (e) {
      setOutcome({
        ok: false,
        code: 'OFFLINE',
        message: `the server cannot be reached (${(e as Error).message})`,
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="feed-title">
      <header className="panel-header">
        <h2 id="feed-title">Publish a feed</h2>
        <p className="hint">
          A catalogue file (JSON Lines or CSV with a header row, one product each): the server publishes it to
          its feed on NATS JetStream; only products that changed reach the catalogue and the stores.
        </p>
      </header>
      <div className="print-bar">
        <input
          type="file"
          accept=".jsonl,.ndjson,.csv"
          onChange={(e) => {
            setFile(e.target.files?.[0]);
            setOutcome(undefined);
          }}
          aria-label="Feed file"
          data-testid="feed-file"
        />
        <button
          type="button"
          className="primary"
          disabled={!type || busy}
          onClick={() => void publish()}
          data-testid="feed-publish"
        >
          {busy ? 'Publishing…' : 'Publish'}
        </button>
      </div>
      {file && !type && <p className="conn-error">A feed is a .jsonl, .ndjson or .csv file.</p>}
      {outcome?.ok === true && (
        <p className="hint" role="status" data-testid="feed-result">
          Published {outcome.published.toLocaleString()} products: {outcome.stored.toLocaleString()} changed,{' '}
          {outcome.duplicates.toLocaleString()} unchanged.
        </p>
      )}
      {outcome?.ok === false && (
        <p className="conn-error" role="alert" data-testid="feed-error">
          {outcome.code === 'NO_FEED'
            ? 'This server ingests no feed: start it with --nats <url> --ingest products.'
            : `${outcome.code}: ${outcome.message}`}
        </p>
      )}
    </section>
  );
}
