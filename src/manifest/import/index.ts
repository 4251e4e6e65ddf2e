/** `orchestrate import` of a supervisord configuration: see ./supervisord.ts. */
export { importSupervisordConf, type SupervisordImportOptions } from "./supervisord";
export { formatReport, type ReportItem, type ProcessMapping, type ProcessField } from "./report";
export { findPort, type PortMatch } from "./ports";
