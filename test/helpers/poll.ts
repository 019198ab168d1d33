/**
 * The one way a test waits: poll a condition, never sleep a fixed time.
 *
 * ```ts
 * import { poll } from '../helpers/poll.js';
 * const manifest = await poll(`manifest of ${videoId}`, () => readManifest(videoId), 180_000);
 * await poll('the queue to drain', async () => (await depth(url)) === 0, 30_000);
 * ```
 *
 * `probe` is called at once, then every `intervalMs` until it returns something other
 * than `undefined` or `false`; `poll` resolves with that value. After `timeoutMs` it
 * rejects with `timed out after <timeoutMs> ms waiting for <what>`. An error thrown by the probe rejects at once: catch
 * inside the probe what means "not yet" (e.g. NoSuchKey). Assertions on the final value
 * belong after the `await`, so a timeout and a wrong value read differently.
 */
export const poll = async <T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  { intervalMs = 500 }: { readonly intervalMs?: number } = {}
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
};
