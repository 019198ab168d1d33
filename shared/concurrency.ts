/**
 * Maps with at most `limit` promises in flight, preserving order. Used by the
 * aggregator to read up to MAX_BRANCHES branch records without opening a
 * thousand sockets at once (and hitting S3 request-rate limits), and by the
 * branch runner to upload a branch's files side by side.
 *
 * On the first failure no new item is started, and the returned promise
 * rejects with that failure only once every item already started has settled:
 * a caller that cleans up after a failure (the branch runner removes the files
 * being uploaded) never does so under work still running.
 */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.error;
  return results;
};
