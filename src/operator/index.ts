export { adminRoutes } from "./admin";
export { dashboardRoutes } from "./dashboard";
export { redactText } from "./redact";
export type { OperatorDeps, OperatorDepsOf } from "./deps";
