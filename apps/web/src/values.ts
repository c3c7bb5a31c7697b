// How the key-value editor reads what people type and shows what documents hold.

/** The JSON type of a value, as the editor labels it. */
export type ValueType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

export function typeOf(value: unknown): ValueType {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

/**
 * What the user typed, as a value: JSON when it parses (`42`, `true`, `{"a":1}`, `"quoted"`),
 * otherwise the text itself as a string.
 */
export function parseValue(input: string): unknown {
  const trimmed = input.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed);
  } catch {
    return input;
  }
}

/**
 * A value as the editor shows it and offers it for editing: strings bare unless they would read
 * back as something else (`"42"`), the rest as JSON — so editing and saving keeps the type.
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'string' && parseValue(value) === value) return value;
  return JSON.stringify(value ?? null);
}

/** A short form of a replica id (the full one is on hover). */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

/** An HLC wall time, as a time of day with milliseconds. */
export function clockTime(wall: number): string {
  const d = new Date(wall);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const EUROS = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' });

/** A price as the labels print it (en-GB, euros); a dash when the product has none. */
export function money(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? EUROS.format(value) : '—';
}
