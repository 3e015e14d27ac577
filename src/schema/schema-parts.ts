/** Builders of JSON Schema parts: every property carries the description editors show. */

export type Schema = Record<string, unknown>;

export const d = (description: string, schema: Schema): Schema => ({ description, ...schema });
export const str = (description: string, extra: Schema = {}): Schema => d(description, { type: "string", ...extra });
export const int = (description: string, extra: Schema = {}): Schema => d(description, { type: "integer", ...extra });
export const num = (description: string, extra: Schema = {}): Schema => d(description, { type: "number", ...extra });
export const bool = (description: string): Schema => d(description, { type: "boolean" });
export const strict = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  description,
  type: "object",
  additionalProperties: false,
  properties,
  ...extra,
});
export const stringList = (description: string): Schema => d(description, { type: "array", items: { type: "string" } });
/** A reference to a shared definition, with the description editors show at this place. */
export const ref = (name: string, description: string): Schema => ({ $ref: `#/$defs/${name}`, description });
