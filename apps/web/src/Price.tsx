import type { Doc } from '@concord/db';
import { money } from './values.js';

/** The price a shopper pays, with the regular one struck through during a sale. */
export function Price({ product }: { product: Doc }) {
  const { price, salePrice, onSale } = product;
  if (onSale === true && typeof salePrice === 'number')
    return (
      <span className="sale">
        <s>{money(price)}</s> {money(salePrice)}
      </span>
    );
  return <>{money(price)}</>;
}
