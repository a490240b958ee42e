export { adminRoutes } from "./routes";
export type { DepsOf } from "./context";
