/**
 * S3 user metadata an uploader may set (sent as `x-amz-meta-<key>`). With the
 * AWS CLI use the JSON form, because the shorthand splits values on commas:
 * `aws s3 cp clip.mp4 s3://…/uploads/clip.mp4 --metadata '{"thumbnail-times":"1,2.5"}'`.
 */
/** Extra thumbnail times in seconds, comma-separated: `1,2.5,30`. */
export const THUMBNAIL_TIMES_METADATA = 'thumbnail-times';
/**
 * Test hook: branch ids, comma-separated (`thumb-02,metadata`), whose first run
 * fails with `InjectedFailure`; a later run of the same video (a redrive) runs
 * them normally. It lets the e2e suite make a video PARTIAL on any target
 * without a special deployment. It can only fail the uploader's own video.
 */
export const FAIL_ONCE_METADATA = 'test-fail-once';
