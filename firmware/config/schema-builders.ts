// The schema's own kinds of property, built on TypeBox, for config-schema.ts and the
// sections it declares in modules of their own (programme-schema.ts). Build time only, like
// them: the box never imports TypeBox (config-schema.ts says why).

import { Type, type SchemaOptions, type Static, type TSchema, type TProperties } from '@sinclair/typebox';

/**
 * A JSON Schema `enum` whose static type is the union of the values given. TypeBox's
 * own unions become `anyOf` lists of `const`, which ajv reports as one error per branch;
 * a plain enum keeps the message "must be one of a, b, c".
 */
export function OneOf<const Values extends readonly (string | number)[]>(values: Values, options: SchemaOptions = {}) {
  return Type.Unsafe<Values[number]>({ ...options, enum: values });
}

/** A string or integer that may also be null: JSON Schema's `type: [T, "null"]`, so string rules (pattern, lengths) apply to strings only. */
export function Nullable<Inner extends TSchema & { type: 'string' | 'integer' }>(inner: Inner, options: SchemaOptions = {}) {
  return Type.Unsafe<Static<Inner> | null>({ ...inner, ...options, type: [inner.type, 'null'] });
}

/** A section of the file: only the keys it names, absent means all its defaults. */
export function Section<Properties extends TProperties>(properties: Properties, options: SchemaOptions = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false, default: {} });
}
