/** Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^attempt)]. */
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_CAP_MS = 10_000;

export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(random() * ceiling);
}
