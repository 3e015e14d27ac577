/** Token counts, shared by the run events, the report and the models. */

/** Token counts of one call, as the provider reported them or as estimated. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}
