import { RESULTS_PAGE, type Search } from './hooks.js';

/** "Show more" under a search's results while some are not shown, saying how many are left. */
export function MoreResults({ found, testid }: { found: Search; testid: string }) {
  const left = found.total - found.products.length;
  if (left <= 0) return null;
  return (
    <p className="more-results">
      <button type="button" onClick={found.more} data-testid={testid}>
        Show {Math.min(left, RESULTS_PAGE)} more
      </button>{' '}
      <span className="hint">{left.toLocaleString()} not shown</span>
    </p>
  );
}
