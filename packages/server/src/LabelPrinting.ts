import { type Doc, SyncError, type Where } from '@concord/db';
import { checkQuery } from '@concord/db/internal';
import {
  builtInTemplate,
  checkTemplate,
  type LabelFonts,
  type LabelTemplate,
  type RenderedLabels,
  renderLabels,
  TemplateError,
} from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';
import { both, type Principal, scope, visibleDocument } from './Auth.js';
import { labelImages } from './labelImages.js';
import type { SyncServer } from './SyncServer.js';

/** What to print: documents by id, or those a filter selects, with a template (a built-in's name, or one as data). */
export interface LabelRequest {
  readonly collection: string;
  readonly ids?: readonly string[];
  readonly where?: Where;
  readonly template: string | LabelTemplate;
  readonly locale?: string;
  readonly currency?: string;
}

export interface PrintedLabels extends RenderedLabels {
  /** Ids asked for that do not exist, or that the caller may not read (the same to it). */
  readonly missing: readonly string[];
}

/**
 * Server-side label rendering (`/api/labels.pdf`), for devices that cannot render themselves
 * (seed 000: "we'd still support server side queries and rendering"): the caller's read scope
 * applies as to any read, at most `limits.maxLabels` labels a request, product images from the
 * server's attachments, rendered in slices between which the server's other work runs.
 */
export class LabelPrinting {
  private fonts: LabelFonts | undefined;

  constructor(private readonly sync: SyncServer) {}

  async print(principal: Principal, r: LabelRequest): Promise<PrintedLabels> {
    const template = this.template(r.template);
    const allowed = scope(principal, r.collection, 'read');
    if (allowed === null) throw new SyncError('FORBIDDEN', `no read access to ${r.collection}`);
    const max = this.sync.limits.maxLabels;
    const docs: Doc[] = [];
    const missing: string[] = [];
    if (r.ids) {
      if (r.ids.length > max)
        throw new SyncError('TOO_LARGE', `${r.ids.length} labels asked for, at most ${max}`);
      for (const id of r.ids) {
        const doc = visibleDocument(this.sync.db, principal, r.collection, id, 'read');
        if (doc) docs.push(doc);
        else missing.push(id);
      }
    } else {
      const where = both(r.where, allowed);
      const query = { ...(where ? { where } : {}), sort: { _id: 'asc' as const }, limit: max + 1 };
      checkQuery(query);
      docs.push(...(await this.sync.db.collection(r.collection).find(query)));
      if (docs.length > max)
        throw new SyncError('TOO_LARGE', `more than ${max} documents match: narrow the filter`);
    }
    const images = await labelImages(this.sync.db, docs);
    this.fonts ??= defaultFonts();
    const rendered = await renderLabels(docs, template, {
      fonts: this.fonts,
      ...(r.locale ? { locale: r.locale } : {}),
      ...(r.currency ? { currency: r.currency } : {}),
      images,
      pause: () => this.sync.turn(),
    });
    return { ...rendered, missing };
  }

  private template(t: string | LabelTemplate): LabelTemplate {
    try {
      const template = typeof t === 'string' ? builtInTemplate(t) : t;
      checkTemplate(template);
      return template;
    } catch (e) {
      if (e instanceof TemplateError) throw new SyncError('BAD_QUERY', e.message);
      throw e;
    }
  }
}

/**
 * A label request from a query string: `collection` (default `products`), `ids` (comma
 * separated) or `where` (JSON), `template` (a built-in's name, default `shelf-strip`),
 * `locale`, `currency`.
 */
export function labelQuery(params: URLSearchParams): LabelRequest {
  let where: Where | undefined;
  const raw = params.get('where');
  if (raw !== null) {
    try {
      where = JSON.parse(raw) as Where;
    } catch {
      throw new SyncError('BAD_QUERY', 'where is not JSON');
    }
  }
  return labelRequest({
    collection: params.get('collection') ?? undefined,
    ids: params
      .get('ids')
      ?.split(',')
      .filter((id) => id !== ''),
    where,
    template: params.get('template') ?? undefined,
    locale: params.get('locale') ?? undefined,
    currency: params.get('currency') ?? undefined,
  });
}

/** A label request from a JSON body: the same fields, `ids` an array, `template` a name or a template. */
export function labelRequest(body: unknown): LabelRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SyncError('BAD_QUERY', 'a label request is a JSON object');
  const b = body as Record<string, unknown>;
  const text = (k: string) => {
    if (b[k] !== undefined && (typeof b[k] !== 'string' || b[k] === ''))
      throw new SyncError('BAD_QUERY', `${k} must be a non-empty string`);
    return b[k] as string | undefined;
  };
  if (
    b.ids !== undefined &&
    !(Array.isArray(b.ids) && b.ids.every((id) => typeof id === 'string' && id !== ''))
  )
    throw new SyncError('BAD_QUERY', 'ids must be an array of document ids');
  if (b.where !== undefined && (typeof b.where !== 'object' || b.where === null || Array.isArray(b.where)))
    throw new SyncError('BAD_QUERY', 'where must be a filter object');
  if (
    b.template !== undefined &&
    typeof b.template !== 'string' &&
    (typeof b.template !== 'object' || b.template === null)
  )
    throw new SyncError('BAD_QUERY', 'template must be a name or a template');
  const locale = text('locale');
  const currency = text('currency');
  return {
    collection: text('collection') ?? 'products',
    ...(b.ids ? { ids: b.ids as string[] } : {}),
    ...(b.where ? { where: b.where as Where } : {}),
    template: (b.template as string | LabelTemplate | undefined) ?? 'shelf-strip',
    ...(locale ? { locale } : {}),
    ...(currency ? { currency } : {}),
  };
}
