/**
 * The length of a value as JSON, remembered per object: a step's `details` is measured once when
 * its input is checked against `maxDetailsLength` and counted again toward `maxPlanTextLength`,
 * and the same object is both, so the second is free. Only for values nobody changes afterwards
 * (parsed input, frozen records).
 */
const lengths = new WeakMap<object, number>();

export function jsonLength(value: object): number {
  let length = lengths.get(value);
  if (length === undefined) lengths.set(value, (length = JSON.stringify(value).length));
  return length;
}
