// Generated from static/ by `npm run assets` (scripts/assets.ts); `npm run check` fails when
// it is out of date. Do not edit.

/** Each file of static/ by name: its content-hashed path, location, type (and SRI hash). */
export const STATIC_ASSETS = {
  "dashboard.css": {
    path: "/__x402/assets/dashboard.2bb7f51cd071c7a7.css",
    file: "/dashboard.css",
    type: "text/css; charset=utf-8",
  },
  "dashboard.js": {
    path: "/__x402/assets/dashboard.8ffef542dd98da2f.js",
    file: "/dashboard.js",
    type: "text/javascript; charset=utf-8",
    integrity: "sha384-udRKWv3nS8cDNLpitnOmDxy4wpSIla3xltA38w/ljLJTak6BO8Vk1Ra2rCECHktm",
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
