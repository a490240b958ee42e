import * as z from "../zod";

/**
 * The operator's brand on the paywall page people see (the price table's top-level `brand`):
 * the site's name, an accent colour and a logo. Each value is checked here so the page can put
 * it in markup and CSS as it is: the colour is a hex colour, the logo an https URL or a path on
 * this site (never `javascript:`, `data:` or a protocol-relative `//host`).
 */

const HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** An https URL without credentials, or a path on this site. */
function isLogo(value: string): boolean {
  if (value.startsWith("/")) return !value.startsWith("//") && !/[\s\\]/.test(value);
  try {
    const url = new URL(value);
    return url.protocol === "https:" && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** The `brand` section of a price table. */
export const BrandSchema = z.strictObject({
  /** The site's name, shown at the top of the page. */
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  /** The accent colour of the page (buttons, the name), "#1652f0" or "#15f". */
  colour: z.optional(
    z.string().check(z.regex(HEX_COLOUR, 'must be a hex colour such as "#1652f0"')),
  ),
  /** The logo: an https URL or a path on this site such as "/logo.svg". */
  logo: z.optional(
    z
      .string()
      .check(
        z.maxLength(2000),
        z.refine(isLogo, 'must be an https URL or a path on this site such as "/logo.svg"'),
      ),
  ),
});

/** A validated brand. */
export type Brand = z.infer<typeof BrandSchema>;
