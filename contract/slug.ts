/**
 * Text → `[a-z0-9-]`, for names that end up in S3 keys, execution names and
 * metric dimensions. Accents are transliterated rather than dropped
 * (`été 2026` → `ete-2026`), runs of anything else become one `-`, and the
 * result is cut to `maxLength` without a trailing `-`. May return ''.
 */
export const slugify = (text: string, maxLength: number): string =>
  text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/æ/gi, 'ae')
    .replace(/ø/gi, 'o')
    .replace(/œ/gi, 'oe')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/, '');
