/**
 * Requests generated from the served OpenAPI document, as fast-check arbitraries: for each
 * operation its path parameters, query string and JSON body, either valid by the document or
 * one step off it (a required field left out, a wrong type, a value past its bounds or
 * pattern, hostile text), with a few wire-level faults (a body that is not JSON or not sent
 * as JSON). The contract test and the route fuzz test share it.
 *
 * Why not a library: the ones on npm that turn a JSON Schema into fast-check arbitraries
 * either pin fast-check 1.x and faker 4 (json-schema-fast-check, last released years ago)
 * or generate TypeScript source files to import rather than arbitraries at run time, target
 * JSON Schema 2020-12 rather than OpenAPI 3.0 (`nullable`), and make valid values only
 * (@amritk/generate-examples, a pre-alpha). Neither makes near-valid values, which is most
 * of what finds a wrong status. The document here uses a small part of JSON Schema (type,
 * properties, required, additionalProperties, items, enum, pattern, format, min/max bounds,
 * anyOf/oneOf, nullable, $ref to components), and this file covers that part.
 */
import fc from 'fast-check';

export type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface RawOperation {
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

export interface Parameter {
  name: string;
  required: boolean;
  schema: Schema;
}

/** An operation of the document, its schemas as plain JSON Schema (no `$ref`, no `nullable`). */
export interface Operation {
  method: string;
  /** As the document names it: `/orders/{id}`. */
  path: string;
  /** As the app's route table names it: `/orders/:id`. */
  route: string;
  pathParams: Parameter[];
  query: Parameter[];
  body?: { required: boolean; schema: Schema };
  /** Declared answers by status: the JSON schema of the body, or null when it is not JSON. */
  responses: Record<string, Schema | null>;
}

export const label = (op: Pick<Operation, 'method' | 'route'>) => `${op.method} ${op.route}`;

/** Every operation of the document. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const components = document.components?.schemas ?? {};
  const plain = (schema: Schema | undefined) => toJsonSchema(inline(schema ?? {}, components));
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, raw]) => {
      const parameters = raw.parameters ?? [];
      const paramsIn = (where: string) =>
        parameters.filter((p) => p.in === where).map((p) => ({ name: p.name, required: p.required === true || where === 'path', schema: plain(p.schema) }));
      const json = raw.requestBody?.content?.['application/json']?.schema;
      return {
        method: method.toUpperCase(),
        path,
        route: path.replace(/\{([^}]+)\}/g, ':$1'),
        pathParams: paramsIn('path'),
        query: paramsIn('query'),
        body: json ? { required: raw.requestBody?.required === true, schema: plain(json) } : undefined,
        responses: Object.fromEntries(
          Object.entries(raw.responses ?? {}).map(([status, answer]) => {
            const content = answer.content ?? {};
            const jsonAnswer = content['application/json'];
            return [status, jsonAnswer ? plain(jsonAnswer.schema) : Object.keys(content).length ? null : {}];
          }),
        ),
      };
    }),
  );
}

/** Replaces `#/components/schemas/X` references by the schema itself (the document has no cycles). */
function inline(schema: unknown, components: Record<string, Schema>): Schema {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === 'string') {
      const name = ref.replace('#/components/schemas/', '');
      if (!components[name]) throw new Error(`unknown schema reference ${ref}`);
      return walk(components[name]);
    }
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, walk(child)]));
  };
  return walk(schema) as Schema;
}

/**
 * OpenAPI 3.0's schema dialect as JSON Schema: `nullable: true` becomes a `null` branch, a
 * boolean `exclusiveMinimum`/`exclusiveMaximum` its numeric form, and `example` goes.
 */
export function toJsonSchema(schema: Schema): Schema {
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return key === 'enum' || key === 'required' ? value : value.map((v) => walk(v));
    if (value === null || typeof value !== 'object') return value;
    if (key === 'properties') return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, walk(child)]));
    const out: Schema = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'nullable' || k === 'example') continue;
      out[k] = key === 'enum' ? v : walk(v, k);
    }
    for (const [flag, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (out[flag] === true) {
        out[flag] = out[bound];
        delete out[bound];
      } else if (out[flag] === false) delete out[flag];
    }
    if ((value as { nullable?: unknown }).nullable === true) return { anyOf: [out, { type: 'null' }] };
    return out;
  };
  return walk(schema) as Schema;
}

// ---------------------------------------------------------------- values

/** Text a broken or hostile client sends where a field wants something else. */
export const hostileText = [
  "'; drop table orders; --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  'a\u0000b',
  'ünïcødé-ß-日本',
  '😀'.repeat(40),
  '\u202eevil',
  ' ',
  '',
  'x'.repeat(5_000),
  '-1',
  '1e309',
  '9007199254740993',
  'null',
  'true',
  '__proto__',
];

/** Known values by field or parameter name (ids of records that exist), mixed into valid strings so requests reach past the look-ups. */
export type Hints = Record<string, readonly string[]>;

const INT32 = 2 ** 31 - 1;
const MAX_ITEMS = 3;
const MAX_TEXT = 64;

const typesOf = (schema: Schema): string[] => {
  const type = schema.type;
  if (Array.isArray(type)) return type as string[];
  if (typeof type === 'string') return [type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
};
const branchesOf = (schema: Schema) => (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);

function integerBetween(min: number, max: number): fc.Arbitrary<number> {
  if (min >= -INT32 && max <= INT32) return fc.integer({ min, max });
  return fc.oneof(
    fc.integer({ min: Math.max(min, -1_000), max: Math.min(max, 1_000) }),
    fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number),
    fc.constantFrom(min, max),
  );
}

function boundsOf(schema: Schema, integer: boolean): { min: number; max: number } {
  const step = integer ? 1 : Number.EPSILON;
  const exclusiveMin = num(schema.exclusiveMinimum);
  const exclusiveMax = num(schema.exclusiveMaximum);
  const fallback = integer ? Number.MAX_SAFE_INTEGER : 1e12;
  return {
    min: exclusiveMin !== undefined ? exclusiveMin + step : (num(schema.minimum) ?? -fallback),
    max: exclusiveMax !== undefined ? exclusiveMax - step : (num(schema.maximum) ?? fallback),
  };
}

function stringValue(schema: Schema, name: string | undefined, hints: Hints): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = num(schema.maxLength);
  const fits = (text: string) => text.length >= minLength && (maxLength === undefined || text.length <= maxLength);
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
  let base: fc.Arbitrary<string>;
  if (schema.format === 'date-time') {
    base = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  } else if (schema.format === 'date') {
    base = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  } else if (schema.format === 'uri') {
    // A webhook the API accepts is called: only ever this machine, on a port nothing listens on.
    base = fc.tuple(fc.constantFrom('http', 'https'), fc.webSegment()).map(([scheme, segment]) => `${scheme}://127.0.0.1:9/${segment}`);
  } else if (pattern) {
    base = fc.stringMatching(pattern).filter(fits);
  } else {
    base = fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength ?? MAX_TEXT, MAX_TEXT)) });
  }
  const known = (name ? (hints[name] ?? []) : []).filter((value) => fits(value) && (!pattern || pattern.test(value)));
  return known.length ? fc.oneof(base, fc.constantFrom(...known)) : base;
}

/** Values the schema accepts. */
export function validValue(schema: Schema, hints: Hints = {}, name?: string): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  const branches = branchesOf(schema);
  if (branches) return fc.oneof(...branches.map((branch) => validValue(branch, hints, name)));
  const types = typesOf(schema);
  if (types.length > 1) return fc.oneof(...types.map((type) => validValue({ ...schema, type }, hints, name)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const { min, max } = boundsOf(schema, true);
      return integerBetween(Math.ceil(min), Math.floor(max));
    }
    case 'number': {
      const { min, max } = boundsOf(schema, false);
      return fc.oneof(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(min, max));
    }
    case 'string':
      return stringValue(schema, name, hints);
    case 'array': {
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.min(num(schema.maxItems) ?? MAX_ITEMS, Math.max(minLength, MAX_ITEMS));
      return fc.array(validValue((schema.items ?? {}) as Schema, hints), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([key, child]) => [key, validValue(child, hints, key)])),
        { requiredKeys: required.filter((key) => key in properties) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

const without = (value: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));

const wrongTypeFor = (types: string[]): fc.Arbitrary<unknown> => {
  const all: [string, fc.Arbitrary<unknown>][] = [
    ['string', fc.constantFrom('', 'x', '12')],
    ['integer', fc.constantFrom(0, -1, 12)],
    ['number', fc.constantFrom(0.5, -1e300)],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.constant([])],
    ['object', fc.constant({})],
  ];
  const others = all.filter(([type]) => !types.includes(type) && !(type === 'integer' && types.includes('number'))).map(([, arb]) => arb);
  return fc.oneof(...others);
};

/** Values one step off the schema: the right shape with one fault, or the wrong type. Not every one is refused (a pattern-free string has no wrong text). */
export function nearValue(schema: Schema, hints: Hints = {}, name?: string): fc.Arbitrary<unknown> {
  const branches = branchesOf(schema);
  const types = typesOf(schema);
  const wrongType = wrongTypeFor(branches ? branches.flatMap(typesOf) : types);
  if (Array.isArray(schema.enum)) {
    const values = schema.enum as unknown[];
    return fc.oneof(wrongType, fc.constantFrom(...hostileText), ...values.filter((v) => typeof v === 'string').map((v) => fc.constant((v as string).toUpperCase())));
  }
  if (branches) return fc.oneof(wrongType, ...branches.map((branch) => nearValue(branch, hints, name)));
  switch (types[0]) {
    case 'string': {
      const faults: fc.Arbitrary<unknown>[] = [wrongType, fc.constantFrom(...hostileText), fc.string({ maxLength: 12 })];
      const maxLength = num(schema.maxLength);
      if (maxLength !== undefined && maxLength < 10_000) faults.push(fc.constant('x'.repeat(maxLength + 1)));
      if ((num(schema.minLength) ?? 0) > 0) faults.push(fc.constant(''));
      return fc.oneof(...faults);
    }
    case 'integer':
    case 'number': {
      const integer = types[0] === 'integer';
      const { min, max } = boundsOf(schema, integer);
      const faults: fc.Arbitrary<unknown>[] = [wrongType, fc.constantFrom(1e300, -1e300, 2 ** 53 + 2)];
      if (integer) faults.push(fc.constantFrom(0.5, 1.25, 2 ** 53));
      if (min > -Number.MAX_SAFE_INTEGER) faults.push(fc.constant(min - 1));
      if (max < Number.MAX_SAFE_INTEGER) faults.push(fc.constant(max + 1));
      faults.push(validValue(schema, hints, name).map((n) => String(n)));
      return fc.oneof(...faults);
    }
    case 'boolean':
      return fc.oneof(wrongType, fc.constantFrom('true', 'false', 1));
    case 'null':
      return wrongType;
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      const minItems = num(schema.minItems) ?? 0;
      const maxItems = num(schema.maxItems);
      const faults: fc.Arbitrary<unknown>[] = [
        wrongType,
        fc.tuple(validValue(schema, hints), nearValue(items, hints)).map(([list, bad]) => [...(list as unknown[]), bad]),
      ];
      if (minItems > 0) faults.push(fc.constant([]));
      if (maxItems !== undefined && maxItems <= 50) faults.push(fc.array(validValue(items, hints), { minLength: maxItems + 1, maxLength: maxItems + 1 }));
      return fc.oneof(...faults);
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = ((schema.required ?? []) as string[]).filter((key) => key in properties);
      const whole = validValue(schema, hints) as fc.Arbitrary<Record<string, unknown>>;
      const faults: fc.Arbitrary<unknown>[] = [wrongType];
      if (required.length) {
        faults.push(
          fc.tuple(whole, fc.constantFrom(...required)).map(([value, key]) => without(value, key)),
        );
      }
      if (schema.additionalProperties === false) faults.push(whole.map((value) => ({ ...value, unexpectedField: 1 })));
      const keys = Object.keys(properties);
      if (keys.length) {
        faults.push(
          fc
            .constantFrom(...keys)
            .chain((key) => fc.tuple(fc.constant(key), whole, nearValue(properties[key]!, hints, key)))
            .map(([key, value, bad]) => ({ ...value, [key]: bad })),
        );
      }
      return fc.oneof(...faults);
    }
    default:
      return wrongType;
  }
}

// ---------------------------------------------------------------- requests

export type Wire = { payload?: string; contentType?: string };

export interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** valid: by the document; near: one part one step off it; wire: a body that is not JSON, or none. */
  kind: 'valid' | 'near' | 'wire';
}

const asText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) ?? '');

function queryString(params: Parameter[], values: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const param of params) if (values[param.name] !== undefined) search.set(param.name, asText(values[param.name]));
  const text = search.toString();
  return text ? `?${text}` : '';
}

function paramsSchema(params: Parameter[]): Schema {
  return {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

/** Parameters with one of them one step off, or a required one left out. */
function nearParams(params: Parameter[], valid: fc.Arbitrary<Record<string, unknown>>, hints: Hints): fc.Arbitrary<Record<string, unknown>> {
  const oneOff = fc
    .constantFrom(...params)
    .chain((param) => fc.tuple(fc.constant(param.name), valid, nearValue(param.schema, hints, param.name)))
    .map(([name, values, bad]) => ({ ...values, [name]: bad }));
  const required = params.filter((p) => p.required).map((p) => p.name);
  if (!required.length) return oneOff;
  const leftOut = fc.tuple(fc.constantFrom(...required), valid).map(([name, values]) => without(values, name));
  return fc.oneof(oneOff, leftOut);
}

/** Bodies the API must refuse before reading them as JSON, or that are no body at all. */
const wireBodies: fc.Arbitrary<Wire> = fc.oneof(
  fc.constant({}),
  fc.constantFrom('{"unclosed": ', '[1, 2', 'not json', '{"a": 1}}').map((payload) => ({ payload, contentType: 'application/json' })),
  fc
    .tuple(fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml'), fc.constantFrom('a=1', '<a/>', 'hello'))
    .map(([contentType, payload]) => ({ payload, contentType })),
);

/**
 * Requests for one operation: valid ones, ones with one part (a path parameter, the query
 * string or the body) one step off the document, and wire faults. `headers` adds who calls
 * (an `authorization` header, or none).
 */
export function requestsFor(op: Operation, options: { headers: fc.Arbitrary<Record<string, string>>; hints?: Hints }): fc.Arbitrary<GeneratedRequest> {
  const hints = options.hints ?? {};
  const validPath = validValue(paramsSchema(op.pathParams), hints) as fc.Arbitrary<Record<string, unknown>>;
  const validQuery = validValue(paramsSchema(op.query), hints) as fc.Arbitrary<Record<string, unknown>>;
  const validBody: fc.Arbitrary<Wire> = op.body
    ? validValue(op.body.schema, hints).map((value) => ({ payload: JSON.stringify(value), contentType: 'application/json' }))
    : fc.constant({});
  const nearParts: fc.Arbitrary<[Record<string, unknown>, Record<string, unknown>, Wire]>[] = [];
  if (op.pathParams.length) nearParts.push(fc.tuple(nearParams(op.pathParams, validPath, hints), validQuery, validBody));
  if (op.query.length) nearParts.push(fc.tuple(validPath, nearParams(op.query, validQuery, hints), validBody));
  if (op.body) {
    const nearBody = nearValue(op.body.schema, hints).map((value) => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' }));
    nearParts.push(fc.tuple(validPath, validQuery, nearBody));
  }
  const build = (kind: GeneratedRequest['kind']) => (parts: [Record<string, unknown>, Record<string, unknown>, Wire, Record<string, string>]) => {
    const [pathValues, queryValues, wire, headers] = parts;
    const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(asText(pathValues[name])));
    return {
      method: op.method,
      url: `${path}${queryString(op.query, queryValues)}`,
      headers: { ...headers, ...(wire.contentType ? { 'content-type': wire.contentType } : {}) },
      ...(wire.payload !== undefined ? { payload: wire.payload } : {}),
      kind,
    };
  };
  const arms: { weight: number; arbitrary: fc.Arbitrary<GeneratedRequest> }[] = [
    { weight: 4, arbitrary: fc.tuple(validPath, validQuery, validBody, options.headers).map(build('valid')) },
  ];
  if (nearParts.length) {
    arms.push({ weight: 5, arbitrary: fc.tuple(fc.oneof(...nearParts), options.headers).map(([[p, q, w], h]) => build('near')([p, q, w, h])) });
  }
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method)) {
    arms.push({ weight: 1, arbitrary: fc.tuple(validPath, validQuery, wireBodies, options.headers).map(build('wire')) });
  }
  return fc.oneof(...arms);
}
