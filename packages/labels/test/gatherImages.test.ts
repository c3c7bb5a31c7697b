import { gatherImages } from '@concord/labels';
import { describe, expect, it } from 'vitest';

describe('gatherImages', () => {
  it('loads each image once, by its key, and leaves out what cannot be had', async () => {
    const hash = 'a'.repeat(64);
    const ref = { $attachment: hash, size: 3, type: 'image/png' };
    const loads: unknown[] = [];
    const images = await gatherImages(
      [
        { _id: 'p1', image: ref },
        { _id: 'p2', image: ref },
        { _id: 'p3', photo: 'logo.png' },
        { _id: 'p4', image: 'broken.png' },
        { _id: 'p5' },
      ],
      async (image) => {
        loads.push(image);
        if (image === 'broken.png') throw new Error('unreadable');
        return image === ref ? new Uint8Array([1, 2, 3]) : undefined;
      },
    );
    expect(loads).toEqual([ref, 'broken.png']);
    expect(images(hash)).toEqual(new Uint8Array([1, 2, 3]));
    expect(images('broken.png')).toBeUndefined();
    // A renamed image property is followed.
    const renamed = await gatherImages([{ _id: 'p3', photo: 'logo.png' }], async () => new Uint8Array([9]), {
      image: 'photo',
    });
    expect(renamed('logo.png')).toEqual(new Uint8Array([9]));
  });
});
