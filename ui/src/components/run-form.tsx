/**
 * The run form, generated from a pipeline's `inputs` JSON Schema: one field per property
 * (text, long text, number, checkbox, choice, or JSON for objects and arrays), with the
 * schema's constraints as the browser's own form constraints (required, minLength,
 * maxLength, minimum, maximum, pattern), so an input the schema rejects is stopped before
 * it is sent; the server checks it again against the whole schema and its answer is shown.
 * "Edit as JSON" takes any input the form cannot express.
 */
import { useState } from "preact/hooks";

type Schema = Record<string, unknown>;

export interface RunFormProps {
  schema?: Schema;
  onSubmit: (input: unknown) => Promise<void>;
  disabled?: boolean;
}

interface Field {
  name: string;
  schema: Schema;
  required: boolean;
  kind: "text" | "textarea" | "number" | "integer" | "boolean" | "enum" | "json";
}

function typeOf(s: Schema): string | undefined {
  const t = s.type;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  return t as string | undefined;
}

function fieldsOf(schema: Schema | undefined): Field[] | undefined {
  if (!schema) return [];
  if (typeOf(schema) !== "object" && !schema.properties) return undefined;
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => {
    const t = typeOf(s);
    const kind: Field["kind"] = Array.isArray(s.enum)
      ? "enum"
      : t === "string"
        ? typeof s.maxLength === "number" && s.maxLength <= 200
          ? "text"
          : "textarea"
        : t === "number"
          ? "number"
          : t === "integer"
            ? "integer"
            : t === "boolean"
              ? "boolean"
              : "json";
    return { name, schema: s, required: required.has(name), kind };
  });
}

/** What the schema's own keywords say about a field's text, before it is sent. */
function problem(f: Field, v: string | boolean | undefined): string | undefined {
  const s = f.schema;
  if (typeof v !== "string" || v === "") return f.required && f.kind !== "boolean" && v === "" ? "required" : undefined;
  if (f.kind === "text" || f.kind === "textarea") {
    if (typeof s.minLength === "number" && v.length < s.minLength) return `at least ${s.minLength} characters (has ${v.length})`;
    if (typeof s.maxLength === "number" && v.length > s.maxLength) return `at most ${s.maxLength} characters (has ${v.length})`;
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) return `must match ${s.pattern}`;
  }
  if (f.kind === "number" || f.kind === "integer") {
    const n = Number(v);
    if (!Number.isFinite(n)) return "not a number";
    if (f.kind === "integer" && !Number.isInteger(n)) return "must be a whole number";
    if (typeof s.minimum === "number" && n < s.minimum) return `must be >= ${s.minimum}`;
    if (typeof s.maximum === "number" && n > s.maximum) return `must be <= ${s.maximum}`;
  }
  if (f.kind === "json") {
    try {
      JSON.parse(v);
    } catch (e) {
      return `not valid JSON (${(e as Error).message})`;
    }
  }
  return undefined;
}

function initialValue(f: Field): string | boolean {
  const d = f.schema.default;
  if (f.kind === "boolean") return d === true;
  if (d === undefined) return f.kind === "enum" && f.required ? String((f.schema.enum as unknown[])[0] ?? "") : "";
  return f.kind === "json" ? JSON.stringify(d, null, 2) : String(d);
}

export function RunForm({ schema, onSubmit, disabled }: RunFormProps) {
  const fields = fieldsOf(schema);
  const [raw, setRaw] = useState(fields === undefined);
  const [values, setValues] = useState<Record<string, string | boolean>>(() => Object.fromEntries((fields ?? []).map((f) => [f.name, initialValue(f)])));
  const [json, setJson] = useState("{}");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const collect = (): unknown => {
    if (raw) return JSON.parse(json || "null");
    const out: Record<string, unknown> = {};
    for (const f of fields ?? []) {
      const v = values[f.name];
      if (f.kind === "boolean") {
        out[f.name] = v === true;
        continue;
      }
      if (v === "" || v === undefined) continue;
      if (f.kind === "number" || f.kind === "integer") out[f.name] = Number(v);
      else if (f.kind === "json") {
        try {
          out[f.name] = JSON.parse(String(v));
        } catch (e) {
          throw new Error(`${f.name}: not valid JSON (${(e as Error).message})`);
        }
      } else if (f.kind === "enum") {
        const options = f.schema.enum as unknown[];
        out[f.name] = options.find((o) => String(o) === v) ?? v;
      } else out[f.name] = v;
    }
    return out;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setError(undefined);
    if (!raw) {
      for (const f of fields ?? []) {
        const el = form.elements.namedItem(f.name) as HTMLInputElement | null;
        el?.setCustomValidity?.(problem(f, values[f.name]) ?? "");
      }
    }
    if (!form.checkValidity()) {
      form.reportValidity();
      const bad = [...form.elements].find((el) => !(el as HTMLInputElement).validity?.valid) as HTMLInputElement | undefined;
      setError(bad ? `${bad.name}: ${bad.validationMessage}` : "the input does not match the pipeline's inputs schema");
      return;
    }
    let input: unknown;
    try {
      input = collect();
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    setBusy(true);
    try {
      await onSubmit(input);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const set = (name: string, v: string | boolean) => setValues((old) => ({ ...old, [name]: v }));
  return (
    <form class="run-form" onSubmit={submit} noValidate data-testid="run-form">
      {raw ? (
        <div class="form-field">
          <label for="run-json">input (JSON)</label>
          <textarea id="run-json" name="input" rows={8} value={json} onInput={(e) => setJson((e.currentTarget as HTMLTextAreaElement).value)} spellcheck={false} />
        </div>
      ) : (
        (fields ?? []).map((f) => {
          const id = `in-${f.name}`;
          const s = f.schema;
          const desc = typeof s.description === "string" ? s.description : undefined;
          const common = { id, name: f.name, required: f.required, "aria-describedby": desc ? `${id}-d` : undefined };
          const v = values[f.name];
          let control;
          switch (f.kind) {
            case "boolean":
              control = <input type="checkbox" {...common} required={false} checked={v === true} onChange={(e) => set(f.name, (e.currentTarget as HTMLInputElement).checked)} />;
              break;
            case "enum":
              control = (
                <select {...common} value={String(v)} onChange={(e) => set(f.name, (e.currentTarget as HTMLSelectElement).value)}>
                  {f.required ? null : <option value="">(none)</option>}
                  {(s.enum as unknown[]).map((o) => (
                    <option key={String(o)} value={String(o)}>
                      {String(o)}
                    </option>
                  ))}
                </select>
              );
              break;
            case "number":
            case "integer":
              control = (
                <input
                  type="number"
                  {...common}
                  step={f.kind === "integer" ? 1 : "any"}
                  {...(typeof s.minimum === "number" ? { min: s.minimum } : {})}
                  {...(typeof s.maximum === "number" ? { max: s.maximum } : {})}
                  value={String(v)}
                  onInput={(e) => set(f.name, (e.currentTarget as HTMLInputElement).value)}
                />
              );
              break;
            case "text":
            case "textarea": {
              const attrs = {
                ...common,
                ...(typeof s.minLength === "number" ? { minLength: s.minLength } : {}),
                value: String(v),
                onInput: (e: Event) => {
                  const el = e.currentTarget as HTMLInputElement;
                  set(f.name, el.value);
                  el.setCustomValidity(problem(f, el.value) ?? "");
                },
              };
              control = f.kind === "text" ? <input type="text" {...attrs} {...(typeof s.pattern === "string" ? { pattern: s.pattern } : {})} /> : <textarea rows={4} {...attrs} />;
              break;
            }
            default:
              control = (
                <textarea
                  rows={4}
                  {...common}
                  spellcheck={false}
                  value={String(v)}
                  placeholder={typeOf(s) === "array" ? "[ ... ] (JSON)" : "{ ... } (JSON)"}
                  onInput={(e) => set(f.name, (e.currentTarget as HTMLTextAreaElement).value)}
                />
              );
          }
          return (
            <div class="form-field" key={f.name}>
              <label for={id}>
                {f.name}
                {f.required ? <span aria-hidden="true"> *</span> : null} <span class="muted">{typeOf(s) ?? "any"}</span>
              </label>
              {control}
              {desc ? (
                <small id={`${id}-d`} class="muted">
                  {desc}
                </small>
              ) : null}
            </div>
          );
        })
      )}
      {error ? (
        <p class="form-errors" role="alert" data-testid="form-error">
          {error}
        </p>
      ) : null}
      <div class="row">
        <button type="submit" class="primary" disabled={disabled || busy}>
          {busy ? "starting…" : "Run"}
        </button>
        {fields !== undefined ? (
          <button
            type="button"
            onClick={() => {
              if (!raw) {
                try {
                  setJson(JSON.stringify(collect(), null, 2));
                } catch {
                  // keep the last JSON
                }
              }
              setRaw(!raw);
            }}
          >
            {raw ? "Edit as a form" : "Edit as JSON"}
          </button>
        ) : null}
      </div>
    </form>
  );
}
