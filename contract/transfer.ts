/**
 * How every uploader in this project (the Lambdas and the CLI) sends objects:
 * lib-storage's `Upload`, multipart above this part size. 16 MiB keeps memory
 * flat (lib-storage holds queueSize parts) and stays under S3's 10,000-part
 * limit up to 160 GB. S3 accepts parts of 5 MiB to 5 GiB.
 */
export const MULTIPART_PART_SIZE = 16 * 1024 * 1024;
