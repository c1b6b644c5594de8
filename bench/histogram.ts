/**
 * Latency histogram: log-linear buckets of microseconds, about 0.2% precision, exact maximum.
 *
 * @module
 */

const SUB = 512;
const HIST_SIZE = 2 * SUB + 22 * SUB;
const HIST_LIMIT = 2 ** 31 - 1;

/** Bucket index of a whole number of microseconds. */
function bucketOf(us: number): number {
  if (us < 2 * SUB) return us;
  const k = 31 - Math.clz32(us);
  return 2 * SUB + (k - 10) * SUB + ((us >>> (k - 9)) - SUB);
}

/** Middle value, in microseconds, of a bucket. */
function bucketValue(bucket: number): number {
  if (bucket < 2 * SUB) return bucket;
  const k = Math.floor((bucket - 2 * SUB) / SUB) + 10;
  const sub = (bucket - 2 * SUB) % SUB + SUB;
  return (sub + 0.5) * 2 ** (k - 9);
}

/** Counts of values in microseconds, with exact maximum. */
export class Histogram {
  counts = new Uint32Array(HIST_SIZE);
  total = 0;
  max = 0;

  /** Adds one value in microseconds. */
  record(us: number): void {
    const v = us <= 0 ? 0 : us >= HIST_LIMIT ? HIST_LIMIT : Math.floor(us);
    this.counts[bucketOf(v)]++;
    this.total++;
    if (v > this.max) this.max = v;
  }

  /** The value below which a fraction `q` of the values fall, in microseconds. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let b = 0; b < HIST_SIZE; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(bucketValue(b), this.max);
    }
    return this.max;
  }
}
