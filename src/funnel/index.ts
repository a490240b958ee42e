/** The operator's funnel: what each priced route and crawler came to (src/funnel). */
export { Funnel, ruleKey } from "./funnel";
export type { FunnelRecorder } from "./funnel";
export { FunnelCounter, OTHER_CRAWLERS } from "./counter";
export type { FunnelBatch, FunnelKey, FunnelRow, FunnelSink } from "./counter";
export { D1Funnel, FUNNEL_RETENTION_DAYS } from "./d1-funnel";
export { REFUSAL_CODES, outcomeOf, refusalCode } from "./outcome";
export type { FunnelEvent, Outcome, RefusalCode } from "./outcome";
export { tagOutcome } from "./tags";
export type { OutcomeTag } from "./tags";
export { funnelCsv, funnelReport } from "./report";
export type { FunnelFigures, FunnelLine, FunnelReport, FunnelStep, Money } from "./report";
