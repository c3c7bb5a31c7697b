import { readmeExamples, runExample } from '@concord/testkit';
import { describe, expect, it } from 'vitest';

// Documentation examples are executed: each ```ts block of the package README runs as a
// module, and its assertions must hold.
const blocks = readmeExamples('packages/cluster/README.md');

describe('packages/cluster/README.md', () => {
  it('has examples', () => expect(blocks.length).toBeGreaterThanOrEqual(2));
  it.each(blocks.map((code, i) => [i + 1, code] as const))(
    'example %i runs and its assertions hold',
    (i, code) => runExample(code, `cluster-${i}`),
  );
});
