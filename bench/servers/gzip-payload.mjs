// The body both gzip peers return: a JSON array of objects, about 100 KiB once serialized.
// Deterministic, so every server (and the curl check) sees the same bytes.
export function makePayload(targetBytes = 100 * 1024) {
  const items = [];
  let size = 2; // the brackets
  for (let i = 0; size < targetBytes; i++) {
    const item = {
      id: i,
      name: `user-${i}`,
      email: `user${i}@example.test`,
      active: i % 3 !== 0,
      score: Math.round(((i * 7919) % 10000) / 7) / 10,
      tags: ['alpha', 'beta', 'gamma'].slice(0, (i % 3) + 1),
      address: { city: `City ${i % 97}`, zip: String(10000 + ((i * 31) % 89999)) },
    };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return items;
}
export const payload = makePayload();
