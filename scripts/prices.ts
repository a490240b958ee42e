/**
 * `npm run prices -- <command>`: the price table from the operator's side.
 *
 *   validate <file>            check a JSON or YAML table with the Worker's own schema, every
 *                              problem at its file:line:column (--remote: also ask the Worker)
 *   diff <file>                what pushing the file would change, rule by rule
 *   push <file>                validate, then make it the live table through the admin API
 *                              (--note TEXT, --expect REVISION); --local writes local KV instead
 *   pull                       print the live table (--revision N: a kept one; --out FILE)
 *   versions                   list the kept revisions
 *   rollback                   put the previous revision back (--to N: that one)
 *   pending                    list payments whose settlement outcome is unknown, with their age
 *                              and the last chain check (--check: read the chain for each and
 *                              resolve those it proves paid, refused or expired)
 *
 * The admin API is at --url (or X402_ADMIN_URL; default http://127.0.0.1:8787) with the token in
 * X402_ADMIN_TOKEN (the local stack's token is used for loopback URLs when it is unset). Local
 * validation resolves terms against --network/--pay-to, else NETWORK/PAY_TO from the environment,
 * else wrangler.toml's [vars]. Exit status: 0 done, 1 refused or failed, 2 usage.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEV_SECRETS } from "../dev/stack.ts";
import { seedPriceTable } from "../dev/worker.ts";
import { adminClient } from "./prices/client.ts";
import { checkTable } from "./prices/check.ts";
import type { Defaults } from "./prices/check.ts";
import { diffTables } from "./prices/diff.ts";
import { readTable, splitProblem } from "./prices/source.ts";
import { describeTable, refusalLine } from "./prices/summary.ts";
import type { CheckedTable, CheckingCommand } from "./prices/summary.ts";

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    note: { type: "string" },
    expect: { type: "string" },
    to: { type: "string" },
    revision: { type: "string" },
    out: { type: "string" },
    network: { type: "string" },
    "pay-to": { type: "string" },
    remote: { type: "boolean" },
    local: { type: "boolean" },
    check: { type: "boolean" },
    "persist-to": { type: "string" },
  },
});
const [command, file] = positionals;
const url = options.url ?? process.env["X402_ADMIN_URL"] ?? "http://127.0.0.1:8787";
const loopback = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(url);
const token = process.env["X402_ADMIN_TOKEN"] ?? (loopback ? DEV_SECRETS.ADMIN_TOKEN : undefined);
const api = adminClient(url, token);

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run prices -- validate|diff|push <file> | pull | versions | rollback [--to N] | pending [--check]`,
  );
  process.exit(2);
}

/** Reads and checks a file locally; prints every problem at its line; exits 1 if invalid. */
async function checkedFile(
  path: string | undefined,
  command: CheckingCommand,
): Promise<{ value: unknown; json: string; table: CheckedTable }> {
  if (!path) usage("name the table file");
  const source = readTable(path);
  if (!source.ok) {
    for (const error of source.errors) console.error(error);
    console.error(refusalLine(path, source.errors.length, command));
    process.exit(1);
  }
  const checked = await checkTable(source.value, defaults());
  if (!checked.ok) {
    for (const problem of checked.errors) {
      const { path: at, message } = splitProblem(problem);
      console.error(`${source.locate(at)}: ${at}: ${message}`);
    }
    console.error(refusalLine(path, checked.errors.length, command));
    process.exit(1);
  }
  const json = JSON.stringify(source.value, null, 2);
  return { value: source.value, json, table: checked.table };
}

function defaults(): Defaults {
  const vars = readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8");
  const fromToml = (name: string) => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(vars)?.[1];
  const pick = (flag: string | undefined, name: string) =>
    flag ?? process.env[name] ?? fromToml(name) ?? undefined;
  return { network: pick(options.network, "NETWORK"), payTo: pick(options["pay-to"], "PAY_TO") };
}

function revisionOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) usage(`--${name} is a revision number`);
  return Number(text);
}

switch (command) {
  case "validate": {
    const { json, table } = await checkedFile(file, "validate");
    if (options.remote) await api.call("POST", "/prices/validate", json);
    const where = options.remote ? " (here and by the Worker)" : "";
    console.log(`${file}: valid${where}: ${describeTable(table)}`);
    break;
  }
  case "diff": {
    const { value } = await checkedFile(file, "diff");
    const live = await api.call("GET", "/prices");
    const { table } = live as { table: unknown };
    const lines = diffTables(table, value);
    console.log(lines.length ? lines.join("\n") : "no change");
    break;
  }
  case "push": {
    const { json } = await checkedFile(file, "push");
    if (options.local) {
      const dir = mkdtempSync(join(tmpdir(), "x402-prices-"));
      try {
        writeFileSync(join(dir, "prices.json"), json);
        const state =
          options["persist-to"] ?? new URL("../.wrangler/state", import.meta.url).pathname;
        await seedPriceTable(state, join(dir, "prices.json"));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      console.log(
        `${file}: written to local KV as revision 0 (written outside the admin API: kept as a revision when a table is next pushed through it)`,
      );
      break;
    }
    const query = new URLSearchParams();
    if (options.note) query.set("note", options.note);
    const expect = revisionOption(options.expect, "expect");
    if (expect !== undefined) query.set("expect", String(expect));
    const saved = (await api.call("PUT", `/prices?${query}`, json)) as {
      result: string;
      revision: number;
    };
    console.log(
      `${file}: ${saved.result === "unchanged" ? "unchanged, still" : "pushed as"} revision ${saved.revision}`,
    );
    break;
  }
  case "pull": {
    const revision = revisionOption(options.revision, "revision");
    const path = revision === undefined ? "/prices" : `/prices/versions/${revision}`;
    const { table, ...meta } = (await api.call("GET", path)) as {
      table: unknown;
      revision: number;
    };
    const text = `${JSON.stringify(table, null, 2)}\n`;
    if (options.out) {
      writeFileSync(options.out, text);
      console.log(`revision ${meta.revision} written to ${options.out}`);
    } else {
      process.stdout.write(text);
    }
    break;
  }
  case "versions": {
    const { live, versions } = (await api.call("GET", "/prices/versions")) as {
      live: number | null;
      versions: Array<{
        revision: number;
        savedAt: string | null;
        version: string | null;
        note: string;
      }>;
    };
    if (versions.length === 0) console.log("no price table is stored");
    for (const v of versions) {
      const saved = v.savedAt ?? "-";
      console.log(
        `${v.revision === live ? "*" : " "} ${v.revision}\t${saved}\t${v.version ?? ""}\t${v.note}`,
      );
    }
    break;
  }
  case "rollback": {
    const to = revisionOption(options.to, "to");
    const body = JSON.stringify(to === undefined ? {} : { to });
    const done = (await api.call("POST", "/prices/rollback", body)) as {
      revision: number;
      note: string;
    };
    console.log(`${done.note}: live as revision ${done.revision}`);
    break;
  }
  case "pending": {
    const { pending } = (await api.call("GET", "/payments/pending?limit=1000")) as {
      pending: Array<{
        payer: string;
        key: string;
        network: string;
        amount: string;
        resource: string;
        ageSeconds: number;
        outcome: string | null;
      }>;
    };
    if (pending.length === 0) console.log("no pending payments");
    for (const p of pending) {
      let outcome = p.outcome ?? "";
      if (options.check) {
        const path = `/payments/pending/${p.payer}/${encodeURIComponent(p.key)}/check`;
        const checked = (await api.call("POST", path)) as { outcome: string; reason: string };
        outcome = `${checked.outcome}: ${checked.reason}`;
      }
      console.log(
        `${p.ageSeconds}s\t${p.payer}\t${p.key}\t${p.network}\t${p.amount}\t${p.resource}\t${outcome}`,
      );
    }
    break;
  }
  default:
    usage(command ? `unknown command ${command}` : "name a command");
}
