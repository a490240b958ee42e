import type { Page } from "playwright-core";

/**
 * Layout checks in the real browser: what a screenshot would show wrong, asked of Chromium's
 * own geometry. An element overflows when its content is wider than its box (scrollWidth past
 * clientWidth) or its box sticks out of its container's; two boxes overlap when their rectangles
 * intersect. Each check returns descriptions of the offenders, so a failure names them.
 */

/** Elements matching `selector` whose content or box overflows (their text, tag and sizes). */
export function overflowing(page: Page, selector: string, container?: string): Promise<string[]> {
  return page.$$eval(
    selector,
    (elements, within) =>
      elements.flatMap((element) => {
        const box = element.getBoundingClientRect();
        const problems: string[] = [];
        if (element.scrollWidth > element.clientWidth + 1) {
          problems.push(`content ${element.scrollWidth}px in a ${element.clientWidth}px box`);
        }
        const outer = within ? element.closest(within) : element.parentElement;
        if (outer) {
          const around = outer.getBoundingClientRect();
          if (box.left < around.left - 1 || box.right > around.right + 1) {
            problems.push(
              `box ${Math.round(box.left)}–${Math.round(box.right)} outside ${Math.round(around.left)}–${Math.round(around.right)}`,
            );
          }
        }
        const text = (element.textContent ?? "").trim().slice(0, 60);
        return problems.map((p) => `${element.tagName.toLowerCase()} "${text}": ${p}`);
      }),
    container,
  );
}

/** Rows (`row`) in which an element matching `a` overlaps one matching `b`. */
export function overlapping(page: Page, row: string, a: string, b: string): Promise<string[]> {
  return page.$$eval(
    row,
    (rows, [first, second]) =>
      rows.flatMap((element) => {
        const one = element.querySelector(first!)?.getBoundingClientRect();
        const two = element.querySelector(second!)?.getBoundingClientRect();
        if (!one || !two)
          return [`${(element.textContent ?? "").trim().slice(0, 40)}: missing part`];
        const apart =
          one.right <= two.left + 0.5 ||
          two.right <= one.left + 0.5 ||
          one.bottom <= two.top + 0.5 ||
          two.bottom <= one.top + 0.5;
        return apart ? [] : [`${(element.textContent ?? "").trim().slice(0, 40)}: overlaps`];
      }),
    [a, b],
  );
}

/** Whether the page is wider than its viewport (something pushes it sideways). */
export function pageOverflows(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/**
 * The lines the text of `selector` is laid out on, as the text of each line (from the browser's
 * per-character rectangles).
 */
export function textLines(page: Page, selector: string): Promise<string[]> {
  return page.$eval(selector, (element) => {
    const lines: Array<{ top: number; text: string }> = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? "";
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const top = Math.round(range.getBoundingClientRect().top);
        const line = lines.find((l) => Math.abs(l.top - top) < 3);
        if (line) line.text += text[i];
        else lines.push({ top, text: text[i]! });
      }
    }
    return lines.sort((x, y) => x.top - y.top).map((l) => l.text);
  });
}
