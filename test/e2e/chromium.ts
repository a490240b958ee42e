/**
 * Debian's Chromium for the browser tests: installed with apt-get the first time (the tests need
 * no browser download), skipped when /usr/bin/chromium is already there, and launched headless
 * with the switches that keep it off the network (no background, component or sync traffic).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** Where Debian's package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's `chromium` package unless it is already installed; idempotent. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const apt = (...args: string[]) => {
    const [command, ...rest] = [...sudo, "apt-get", ...args];
    execFileSync(command!, rest, {
      stdio: "inherit",
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  };
  try {
    apt("install", "-y", "chromium");
  } catch {
    // A fresh machine may have no package lists yet.
    apt("update");
    apt("install", "-y", "chromium");
  }
  if (!existsSync(CHROMIUM))
    throw new Error(`apt-get installed chromium, but ${CHROMIUM} is missing`);
}

/** Launches headless Chromium with no network of its own beyond what pages ask for. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
