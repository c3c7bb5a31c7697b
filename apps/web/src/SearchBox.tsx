/** The product search field of the retail views: what a search looks in, said once. */
export function SearchBox(props: {
  query: string;
  onChange: (q: string) => void;
  label: string;
  testid: string;
}) {
  return (
    <input
      type="search"
      className="search"
      placeholder="Search by name, brand, SKU or barcode"
      value={props.query}
      onChange={(e) => props.onChange(e.target.value)}
      aria-label={props.label}
      data-testid={props.testid}
    />
  );
}
