/**
 * Runs work side by side and waits until every piece has settled, then throws the first
 * failure in argument order, or returns the results in that order. For work on files a
 * caller removes when one piece fails: Promise.all would return at the first failure
 * while another piece (an ffmpeg, an upload) still reads or writes them.
 */
export const settleAll = async <T extends readonly unknown[]>(
  work: {
    readonly [K in keyof T]: Promise<T[K]>;
  }
): Promise<T> => {
  const settled = await Promise.allSettled(work as readonly Promise<unknown>[]);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
};
