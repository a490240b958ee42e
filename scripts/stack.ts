/**
 * `npm start`: the whole local stack on fixed loopback ports, until Ctrl-C.
 */
import { fileURLToPath } from "node:url";
import { DEV_SECRETS, FIXED_PORTS, startStack } from "../dev/stack.ts";

const stateDir = fileURLToPath(new URL("../.wrangler/state", import.meta.url));
const started = Date.now();
const stack = await startStack({
  ports: FIXED_PORTS,
  stateDir,
  log: (line) => console.log(`  ${line}`),
}).catch((error: unknown) => {
  console.error(
    `\nThe local stack did not start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});

console.log(`
x402 edge paywall: local stack up in ${((Date.now() - started) / 1000).toFixed(1)} s

  paywall (wrangler dev)  ${stack.workerUrl}
  demo origin             ${stack.originUrl}
  facilitator             ${stack.facilitatorUrl}
  chain (anvil, 84532)    ${stack.rpcUrl}   USDC at 0x036CbD53842c5426634e7929541eC2318f3dCF7e
  payer (anvil #1)        ${stack.payer}   1000 USDC
  payTo (anvil #2)        ${stack.payTo}

Try it:
  curl -i ${stack.workerUrl}/                   free home page
  curl -i ${stack.workerUrl}/api/hello          402 Payment Required
  npm run pay -- ${stack.workerUrl}/api/hello   pay $0.001 with @x402/fetch
  npm run pay -- ${stack.workerUrl}/articles/hello-x402
  npm run pay -- ${stack.workerUrl}/api/pass/demo        buy a pass: 1 hour or 5 calls
  npm run pay -- ${stack.workerUrl}/api/pass/demo --siwx come back by signing in, free

Admin API: Authorization: Bearer ${DEV_SECRETS.ADMIN_TOKEN}   (see docs/operator.md)
Dashboard: ${stack.workerUrl}/__x402/dashboard   (sign in with the admin token)

Price table: dev/prices.json (seeded into local KV); change it with npm run prices -- push <file>.
Ctrl-C stops everything.
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping the local stack …");
    void stack.stop().then(() => process.exit(0));
  });
}
