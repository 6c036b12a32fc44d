export * from "./errors.js";
export type * from "./sensor/rawEvent.js";
