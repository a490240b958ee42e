/*
 * The operator dashboard's only script (src/operator/dashboard/page.ts), served by the Worker from
 * its static assets under a content-hashed path with the page's CSP nonce and Subresource
 * Integrity. Plain ES2020, never bundled or rewritten: it reads the figures the Worker embedded
 * (`#dashboard-data`, src/operator/dashboard/data.ts) and draws the page: totals, SVG charts, the
 * funnel, tables and the price table as written. Every value reaches the page as text (text
 * nodes and attribute values), never as markup. Figures carry `data-testid` and `data-`
 * attributes so tests and scripts can read them. After an edit, `npm run assets` renames it.
 */
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";

  /**
   * An HTML element with attributes (null and undefined left out) and children: nodes, or text
   * (strings and numbers become text nodes; null, undefined, false and "" are left out).
   */
  function el(tag, attributes, ...children) {
    return fill(document.createElement(tag), attributes, children);
  }

  /** The same for an SVG element. */
  function svg(tag, attributes, ...children) {
    return fill(document.createElementNS(SVG, tag), attributes, children);
  }

  function fill(node, attributes, children) {
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false || child === "") continue;
      node.append(typeof child === "object" ? child : String(child));
    }
    return node;
  }

  // Words and numbers for people.

  /** USDC atomic units (6 decimals, a decimal string) as dollars, "$0.012"; zero is "$0". */
  function dollars(atomic) {
    const text = String(atomic).padStart(7, "0");
    const fraction = text.slice(-6).replace(/0+$/, "");
    return "$" + text.slice(0, -6) + (fraction ? "." + fraction : "");
  }

  /** An amount: dollars for USDC (the Worker's `usd`), else "<atomic> of 0x1234…abcd". */
  const amount = (m) => m.usd || `${m.amount} of ${m.asset.slice(0, 6)}…${m.asset.slice(-4)}`;
  const money = (list) => list.map(amount).join(" + ");
  const shortHex = (value) =>
    value.length > 14 ? `${value.slice(0, 6)}…${value.slice(-4)}` : value;
  const shortKey = (key) => (key.length > 12 ? `${key.slice(0, 8)}…` : key);
  /** An ISO time without milliseconds, "2026-11-21 10:04:05Z". */
  const when = (time) =>
    new Date(time)
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d{3}Z$/, "Z");

  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h`;
  }

  /** "1 hour", "90 minutes", "2 days": the largest unit that divides the duration exactly. */
  function duration(seconds) {
    for (const [size, unit] of [
      [86400, "day"],
      [3600, "hour"],
      [60, "minute"],
      [1, "second"],
    ]) {
      if (seconds >= size && seconds % size === 0) {
        const n = seconds / size;
        return `${n} ${unit}${n === 1 ? "" : "s"}`;
      }
    }
    return `${seconds} seconds`;
  }

  /** A block explorer link for a transaction, on networks with a well-known explorer. */
  function transactionUrl(network, transaction) {
    const base = {
      "eip155:8453": "https://basescan.org/tx/",
      "eip155:84532": "https://sepolia.basescan.org/tx/",
      "eip155:1": "https://etherscan.io/tx/",
    }[network];
    return base && /^0x[0-9a-f]{64}$/i.test(transaction) ? base + transaction : undefined;
  }

  // Revenue: the ledger's buckets (one per key, network and asset) summed into USDC bars.

  const DAY_MS = 86400000;
  const NONE = { totals: [], byDay: [], byRoute: [], byCrawler: [], credit: [] };
  const revenue = data.revenue || NONE;

  /** USDC buckets summed per key and detail (a crawler's key), in atomic units (BigInt). */
  function usdcBars(buckets) {
    const bars = new Map();
    for (const b of buckets) {
      if (!b.usd) continue;
      const id = JSON.stringify([b.key, b.detail || ""]);
      const bar = bars.get(id) || { label: b.key, detail: b.detail || null, atomic: 0n, count: 0 };
      bar.atomic += BigInt(b.amount);
      bar.count += b.count;
      bars.set(id, bar);
    }
    return [...bars.values()];
  }

  /** One bar per day shown, empty days included. */
  function everyDay(bars) {
    const byLabel = new Map(bars.map((bar) => [bar.label, bar]));
    return Array.from({ length: data.days }, (_, i) => {
      const label = new Date(data.from + i * DAY_MS).toISOString().slice(0, 10);
      return byLabel.get(label) || { label, atomic: 0n, count: 0 };
    });
  }

  /** The `keep` largest bars, the smallest summed into one "(other)" bar. */
  function topBars(bars, keep) {
    const sorted = bars.sort((a, b) => (b.atomic > a.atomic ? 1 : b.atomic < a.atomic ? -1 : 0));
    if (sorted.length <= keep) return sorted;
    const other = { label: "(other)", atomic: 0n, count: 0 };
    for (const bar of sorted.slice(keep - 1)) {
      other.atomic += bar.atomic;
      other.count += bar.count;
    }
    return [...sorted.slice(0, keep - 1), other];
  }

  // Building blocks.

  const section = (title, ...children) => el("section", null, el("h2", null, title), children);
  const empty = (text, id) => el("p", { class: "empty", id }, text);
  const code = (text, title) => el("code", { title }, text);
  const hex = (value) => code(shortHex(value), value);
  const keyNote = (key) =>
    key ? [el("br"), el("small", { title: key }, `key ${key.slice(0, 8)}…`)] : null;
  const figure = (testid, value, text) =>
    el("div", { class: "figure" }, el("b", { "data-testid": testid }, value), text);

  function table(heads, rows, attributes) {
    const head = el(
      "tr",
      null,
      heads.map((name) => el("th", null, name)),
    );
    return el("table", attributes, el("thead", null, head), el("tbody", null, rows));
  }

  // Charts, as SVG and as rows of bars. Every bar carries its exact figure in a tooltip and in
  // `data-` attributes.

  const WIDTH = 720;
  const HEIGHT = 180;
  const BOTTOM = 24;

  function chart(id, label, children) {
    const axis = { x1: 0, y1: HEIGHT - BOTTOM, x2: WIDTH, y2: HEIGHT - BOTTOM, stroke: "#ccc" };
    const frame = { id, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: "100%", role: "img" };
    return svg("svg", { ...frame, "aria-label": label }, svg("line", axis), children);
  }

  const note = (x, y, text, colour = "#666") =>
    svg("text", { x, y, "font-size": 10, fill: colour }, text);
  const maxOf = (bars) =>
    bars.reduce((max, bar) => (BigInt(bar.atomic) > max ? BigInt(bar.atomic) : max), 1n);

  /** Vertical bars, one per day, with a label every few days. */
  function dayChart(bars) {
    const max = maxOf(bars);
    const step = WIDTH / Math.max(bars.length, 1);
    const every = Math.ceil(bars.length / 8);
    const drawn = bars.map((bar, i) => {
      const h = Math.round(((HEIGHT - 16 - BOTTOM) * Number(bar.atomic)) / Number(max));
      const x = (i * step + 2).toFixed(1);
      const usd = dollars(bar.atomic);
      const shape = { x, y: HEIGHT - BOTTOM - h, width: (step - 4).toFixed(1), height: h };
      const figures = { "data-day": bar.label, "data-usd": usd, "data-count": bar.count };
      const tip = `${bar.label}: ${usd} (${bar.count} payments)`;
      return [
        svg("rect", { ...shape, fill: "#3b6fd8", ...figures }, svg("title", null, tip)),
        i % every === 0 ? note(x, HEIGHT - 6, bar.label.slice(5)) : null,
      ];
    });
    return chart("chart-day", "revenue per day", [note(0, 11, `max ${dollars(max)}`), drawn]);
  }

  /**
   * Horizontal bars with their label and figure, largest first (a grid: label, bar, figure), so
   * a long label wraps in its own column. A crawler's key shows shortened, whole in the tooltip.
   */
  function barChart(bars, id, attribute, none) {
    if (bars.length === 0) return empty(none, id);
    const max = maxOf(bars);
    const rows = bars.map((bar) => {
      const usd = dollars(bar.atomic);
      const share = Number((BigInt(bar.atomic) * 10000n) / max) / 100;
      const fill = el("div", { class: "bar" });
      fill.style.width = `${Math.max(share, 0.5)}%`;
      const detail = bar.detail || null;
      const tip = `${bar.label}${detail ? ` (key ${detail})` : ""}: ${usd} (${bar.count} payments)`;
      const figures = { "data-key": detail, "data-usd": usd, "data-count": bar.count, title: tip };
      return el(
        "div",
        { class: "bar-row", [attribute]: bar.label, ...figures },
        el(
          "div",
          { class: "bar-label" },
          el("span", null, bar.label),
          detail && el("small", { class: "detail", title: detail }, `key ${shortKey(detail)}`),
        ),
        el("div", { class: "bar-track" }, fill),
        el("div", { class: "bar-value" }, `${usd} · ${bar.count}`),
      );
    });
    return el("div", { class: "bars", id, role: "img" }, rows);
  }

  const SERIES = [
    ["challenges", "402s served", "#9aa7bd"],
    ["paid", "paid", "#2f9e6e"],
    ["refused", "refused", "#d0573b"],
  ];

  /** The funnel over time: per step, 402s served, payments made and refused, side by side. */
  function funnelChart(steps) {
    const max = Math.max(1, ...steps.flatMap((s) => [s.challenges, s.paid, s.refused]));
    const step = WIDTH / Math.max(steps.length, 1);
    const bar = Math.max(1, (step - 4) / SERIES.length);
    const every = Math.ceil(steps.length / 8);
    const drawn = steps.map((s, i) => {
      const label = new Date(s.time).toISOString().slice(5, 10);
      const bars = SERIES.map(([key, name, colour], j) => {
        const h = Math.round(((HEIGHT - 22 - BOTTOM) * s[key]) / max);
        const x = (i * step + 2 + j * bar).toFixed(1);
        const shape = { x, y: HEIGHT - BOTTOM - h, width: bar.toFixed(1), height: h, fill: colour };
        const figures = { "data-step": label, "data-series": key, "data-value": s[key] };
        return svg(
          "rect",
          { ...shape, ...figures },
          svg("title", null, `${label}: ${s[key]} ${name}`),
        );
      });
      return [bars, i % every === 0 ? note((i * step + 2).toFixed(1), HEIGHT - 6, label) : null];
    });
    const legend = SERIES.map(([, name, colour], j) => [
      svg("rect", { x: 120 + j * 110, y: 3, width: 10, height: 10, fill: colour }),
      note(134 + j * 110, 12, name, "#444"),
    ]);
    return chart("chart-funnel", "funnel over time", [note(0, 12, `max ${max}`), legend, drawn]);
  }

  // Sections, top to bottom.

  function problems() {
    if (data.problems.length === 0) return null;
    const lines = data.problems.map((p) => el("div", null, p));
    return el("section", { class: "problems", "data-testid": "problems" }, lines);
  }

  function totals() {
    const usd = usdcBars(revenue.totals).reduce((sum, bar) => sum + bar.atomic, 0n);
    const count = revenue.totals.reduce((n, t) => n + t.count, 0);
    const tokens =
      revenue.totals.length > 1 &&
      el(
        "ul",
        null,
        revenue.totals.map((t) => el("li", null, `${amount(t)} on ${t.network} (${t.count})`)),
      );
    return section(
      `Revenue, last ${data.days} days`,
      el(
        "div",
        { class: "figures" },
        figure("revenue-usd", dollars(usd), "USDC earned"),
        figure("receipt-count", count, "payments"),
        figure("session-count", data.sessions.length, "live sessions"),
      ),
      tokens,
    );
  }

  function reasons(figures) {
    const entries = Object.entries(figures.refusedBy);
    if (entries.length === 0) return null;
    const text = entries
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${reason.replace(/_/g, " ")} ${n}`)
      .join(", ");
    return el("div", { class: "reasons", "data-testid": "refusal-reasons" }, `refused: ${text}`);
  }

  /** What 402s turned into, in figures, over time and per route and crawler. */
  function funnel() {
    const report = data.funnel;
    if (!report) return null;
    const t = report.totals;
    const rate = t.challenges > 0 ? Math.round((t.paid / t.challenges) * 1000) / 10 : 0;
    const figures = el(
      "div",
      { class: "figures" },
      figure("funnel-challenges", t.challenges, "402s served"),
      figure("funnel-paid", t.paid, `paid (${rate}% of 402s)`),
      figure("funnel-refused", t.refused, "refused"),
      figure("funnel-sessions", t.sessionUses, "session uses"),
      figure("funnel-credit", t.creditUses, "pages on credit"),
    );
    const lines =
      report.lines.length === 0
        ? empty("no 402 served yet")
        : table(
            [
              "route",
              "crawler",
              "402s",
              "paid",
              "refused",
              "session uses",
              "pages on credit",
              "revenue",
            ],
            report.lines.slice(0, 50).map((l) =>
              el(
                "tr",
                {
                  "data-testid": "funnel-line",
                  "data-rule": l.rule,
                  "data-crawler": l.crawler || "",
                },
                el(
                  "td",
                  null,
                  l.route || l.rule,
                  l.route ? [" ", el("small", null, l.rule)] : null,
                ),
                el(
                  "td",
                  null,
                  l.crawler ? [l.crawler, keyNote(l.crawlerKey)] : "people and programs",
                ),
                el("td", { "data-figure": "challenges" }, l.challenges),
                el("td", { "data-figure": "paid" }, l.paid),
                el("td", { "data-figure": "refused" }, l.refused, reasons(l)),
                el("td", null, l.sessionUses),
                el(
                  "td",
                  null,
                  l.creditUses,
                  l.creditSpent.length ? [el("br"), el("small", null, money(l.creditSpent))] : null,
                ),
                el("td", null, money(l.revenue)),
              ),
            ),
          );
    return section(
      `Funnel, last ${data.days} days`,
      figures,
      reasons(t),
      funnelChart(report.steps),
      lines,
    );
  }

  /** Crawl credit sold: money from crawlers, but not a route; pages it paid for are in the funnel. */
  function creditLine() {
    const { atomic, count } = usdcBars(revenue.credit)[0] || { atomic: 0n, count: 0 };
    const usd = dollars(atomic);
    return el(
      "p",
      { class: "credit", "data-testid": "credit-sold", "data-usd": usd, "data-count": count },
      "Crawl credit sold (",
      code("/__x402/crawl-credit"),
      "): ",
      el("b", null, usd),
      ` in ${count} top-up${count === 1 ? "" : "s"}`,
    );
  }

  /** Payments whose settlement outcome is unknown: resolved with the admin API's check. */
  function pending() {
    if (data.pending.length === 0) return empty("no pending payments");
    const how = el(
      "p",
      null,
      "Check one against the chain: ",
      code("POST /__x402/admin/payments/pending/<payer>/<key>/check"),
      " or ",
      code("npm run prices -- pending --check"),
      ".",
    );
    const rows = data.pending.map((p) =>
      el(
        "tr",
        { "data-testid": "pending", "data-key": p.key },
        el("td", null, age(data.now - p.since)),
        el("td", null, p.resource),
        el("td", null, hex(p.payer)),
        el("td", null, amount(p)),
        el("td", null, p.checkedAt === null ? "never" : when(p.checkedAt)),
        el("td", null, p.outcome || ""),
      ),
    );
    const heads = ["age", "resource", "payer", "amount", "last check", "outcome"];
    return [how, table(heads, rows)];
  }

  function receipts() {
    if (data.recent.length === 0) return empty("no receipts yet");
    const rows = data.recent.map((r) => {
      const url = r.transaction && transactionUrl(r.network, r.transaction);
      const tx = !r.transaction
        ? null
        : url
          ? el("a", { href: url, rel: "noreferrer" }, shortHex(r.transaction))
          : hex(r.transaction);
      return el(
        "tr",
        { "data-testid": "receipt", "data-tx": r.transaction || "" },
        el("td", null, when(r.time)),
        el("td", null, r.host, code(r.path)),
        el("td", null, hex(r.payer)),
        el("td", null, amount(r)),
        el("td", null, r.crawler || "", keyNote(r.crawlerKey)),
        el("td", null, r.session || ""),
        el("td", null, tx),
      );
    });
    const heads = ["time", "resource", "payer", "amount", "crawler", "session", "transaction"];
    return table(heads, rows);
  }

  function sessions() {
    if (data.sessions.length === 0) return empty("no live sessions");
    const rows = data.sessions.map((s) =>
      el(
        "tr",
        { "data-testid": "session" },
        el("td", null, hex(s.payer)),
        el("td", null, s.scope),
        el("td", null, amount(s)),
        el("td", null, s.expiresAt === null ? "no time limit" : when(s.expiresAt)),
        el("td", null, s.remaining === null ? "unlimited" : s.remaining),
        el("td", null, s.tokens),
      ),
    );
    return table(["payer", "scope", "paid", "expires", "uses left", "tokens"], rows);
  }

  // The price table in force, as the operator wrote it: every rule with all its terms, the
  // default rule, the defaults, the crawler policies and credit, the payee maps and the stored
  // JSON. Terms people read often are put in words; the rest are shown as written.

  const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
  const SHOWN = ["id", "host", "methods", "path", "free", "price"];
  const term = (key, value) => [el("b", null, key), " ", termText(key, value)];

  /** A term in words where it is common, else its JSON as written. */
  function termText(key, value) {
    if (key === "session" && isObject(value)) {
      const ttl = value.ttl;
      const parts = [
        ttl === undefined ? "" : `for ${typeof ttl === "number" ? duration(ttl) : String(ttl)}`,
        value.uses === undefined ? "" : `${value.uses} uses`,
        value.scope === undefined ? "" : `scope ${value.scope}`,
      ].filter(Boolean);
      return `a pass ${parts.join(", ") || "without limit"}`;
    }
    if (key === "metered" && isObject(value)) {
      const usage = isObject(value.usage) ? value.usage : {};
      const from = usage.header
        ? `header ${usage.header}`
        : usage.sse
          ? `stream field ${usage.sse}`
          : "?";
      return `${value.unitPrice} per unit, usage from ${from}`;
    }
    if (key === "payee" && isObject(value) && value.from === "origin") {
      return "named by the origin per request";
    }
    if (["string", "number", "boolean"].includes(typeof value)) return String(value);
    return code(JSON.stringify(value));
  }

  function priceText(rule) {
    if (rule.free === true) return "free";
    if (typeof rule.price === "string") return rule.price;
    if (isObject(rule.price))
      return [`${rule.price.amount} units of `, code(String(rule.price.asset))];
    if (rule.dynamicPrice) return "dynamic";
    if (rule.originPrice) return "quoted by the origin";
    return "";
  }

  function ruleRow(id, rule) {
    const terms = Object.entries(rule)
      .filter(([key]) => !SHOWN.includes(key))
      .map(([key, value]) => el("div", null, term(key, value)));
    return el(
      "tr",
      { "data-testid": "rule", "data-rule": id },
      el("td", null, id),
      el("td", null, typeof rule.host === "string" ? rule.host : "*"),
      el("td", null, Array.isArray(rule.methods) ? rule.methods.join(", ") : "all"),
      el("td", null, code(String(rule.path === undefined ? "" : rule.path))),
      el("td", null, priceText(rule)),
      el("td", { class: "terms" }, terms),
    );
  }

  function policyRow(id, policy) {
    const p = isObject(policy) ? policy : {};
    const cells = [
      id,
      p.action === undefined ? "" : p.action,
      p.price === undefined ? "" : p.price,
    ];
    return el(
      "tr",
      { "data-testid": "crawler-policy" },
      cells.map((c) => el("td", null, String(c))),
    );
  }

  function crawlersView(crawlers) {
    if (!isObject(crawlers)) return null;
    const groups = ["signed", "unverified", "unknown"];
    const policies = isObject(crawlers.policies) ? crawlers.policies : {};
    const rows = Object.entries(policies).map(([id, policy]) => policyRow(id, policy));
    for (const group of groups) {
      if (crawlers[group] !== undefined) rows.push(policyRow(`(${group})`, crawlers[group]));
    }
    const rest = Object.entries(crawlers)
      .filter(([key]) => key !== "policies" && !groups.includes(key))
      .map(([key, value]) => el("div", null, term(key, value)));
    return [
      el("h3", null, "Crawlers"),
      table(["crawler", "action", "price"], rows, { "data-testid": "price-crawlers" }),
      el("div", { class: "terms" }, rest),
    ];
  }

  function priceTable() {
    const stored = data.table;
    if (!stored) return empty("no price table is stored");
    const { meta } = stored;
    const head = el(
      "p",
      { "data-testid": "price-revision" },
      `revision ${meta.revision}`,
      meta.version ? ` · version ${meta.version}` : "",
      meta.savedAt ? ` · saved ${when(meta.savedAt)}` : "",
      meta.note ? ` · ${meta.note}` : "",
    );
    let parsed = {};
    let raw = stored.raw;
    try {
      parsed = JSON.parse(stored.raw);
      raw = JSON.stringify(parsed, null, 2);
    } catch {
      // a stored table is always JSON; show the header and the raw text if it somehow is not
    }
    const rules = Array.isArray(parsed.rules) ? parsed.rules : [];
    const rows = rules.map((rule, i) => ruleRow(stored.ruleIds[i] || String(i), rule));
    const fallback = isObject(parsed.default) ? parsed.default : { free: true };
    rows.push(ruleRow("default", { path: "(no rule matches)", ...fallback }));
    const heads = ["rule", "host", "methods", "path", "price", "terms"];
    const defaults = isObject(parsed.defaults) ? Object.entries(parsed.defaults) : [];
    const payees = isObject(parsed.payees) ? Object.entries(parsed.payees) : [];
    return [
      head,
      table(heads, rows, { "data-testid": "price-rules" }),
      defaults.length > 0 &&
        el(
          "p",
          { class: "terms", "data-testid": "price-defaults" },
          "Defaults: ",
          defaults.map(([key, value], i) => [i > 0 ? " · " : "", term(key, value)]),
        ),
      crawlersView(parsed.crawlers),
      payees.length > 0 && [
        el("h3", null, "Payees"),
        el(
          "div",
          { class: "terms" },
          payees.map(([key, value]) =>
            el("div", null, el("b", null, key), " ", code(JSON.stringify(value))),
          ),
        ),
      ],
      el(
        "details",
        { class: "raw" },
        el("summary", null, "The table as stored (JSON)"),
        el("pre", null, raw),
      ),
    ];
  }

  document.getElementById("dashboard-now").textContent = when(data.now);
  document
    .getElementById("dashboard")
    .replaceChildren(
      ...[
        problems(),
        totals(),
        section("Revenue per day (USDC)", dayChart(everyDay(usdcBars(revenue.byDay)))),
        funnel(),
        section(
          "Revenue per route",
          barChart(
            topBars(usdcBars(revenue.byRoute), 12),
            "chart-route",
            "data-route",
            "no payments yet",
          ),
          creditLine(),
        ),
        section(
          "Revenue per crawler",
          barChart(
            topBars(usdcBars(revenue.byCrawler), 12),
            "chart-crawler",
            "data-crawler",
            "no crawler has paid yet",
          ),
        ),
        section("Pending payments", pending()),
        section("Recent receipts", receipts()),
        section("Live sessions", sessions()),
        section("Price table", priceTable()),
      ].filter(Boolean),
    );
})();
