// Generated from static/ by `npm run assets` (scripts/assets.ts); `npm run check` fails when
// it is out of date. Do not edit.

/** Each file of static/ by name: its content-hashed path, location, type (and SRI hash). */
export const STATIC_ASSETS = {
  "dashboard.css": {
    path: "/__x402/assets/dashboard.1b0f74ab0c360fec.css",
    file: "/dashboard.css",
    type: "text/css; charset=utf-8",
  },
  "paywall.css": {
    path: "/__x402/assets/paywall.176127f388c8d0e5.css",
    file: "/paywall.css",
    type: "text/css; charset=utf-8",
  },
  "paywall.js": {
    path: "/__x402/assets/paywall.95573048d0812960.js",
    file: "/paywall.js",
    type: "text/javascript; charset=utf-8",
    integrity: "sha384-6TN4cp0I8fzDJDb/PcgBQ91f+DSdW5Bc4UZsBI3MB+XGctOo8qn77rabNqnR12ho",
  },
} as const;
