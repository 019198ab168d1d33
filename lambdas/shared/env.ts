/** Lives apart from s3.ts so functions that only need config do not load the S3 client. */
export const requireEnv = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`Missing required environment variable ${name}`);
  return v;
};
