/**
 * The ECS version our documents follow. 8.17.0 is the first version whose schema holds every ECS field we write
 * (process.hash.cdhash arrived in 8.16); Defend-only fields stay under `.Ext` as Elastic Defend writes them.
 */
export const ECS_VERSION = "8.17.0";
