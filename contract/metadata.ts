/**
 * S3 user metadata an uploader may set (sent as `x-amz-meta-<key>`). With the
 * AWS CLI use the JSON form, because the shorthand splits values on commas:
 * `aws s3 cp clip.mp4 s3://…/uploads/clip.mp4 --metadata '{"thumbnail-times":"1,2.5"}'`.
 */
/** Extra thumbnail times in seconds, comma-separated: `1,2.5,30`. */
export const THUMBNAIL_TIMES_METADATA = 'thumbnail-times';
