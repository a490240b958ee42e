/**
 * Bench target "baseline": a plain Hono proxy to `ORIGIN_URL`, the limit for anything that
 * reaches the origin.
 */
import { Hono } from "hono";
import { forward, type ProxyEnv } from "./proxy.ts";

const app = new Hono<{ Bindings: ProxyEnv }>();
app.all("*", (c) => forward(c.req.raw, c.env.ORIGIN_URL));

export default app;
