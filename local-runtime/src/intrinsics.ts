import { UnsupportedIntrinsicError } from './errors.js';

export interface ResolveContext {
  /** Value of `Ref` for a resource or parameter logical id. */
  ref(logicalId: string): unknown;
  getAtt(logicalId: string, attribute: string): unknown;
  condition(name: string): boolean;
  mappings?: Record<string, Record<string, Record<string, unknown>>>;
  region: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Marker for `AWS::NoValue`: removed from the enclosing object/array after resolution. */
const NO_VALUE = Symbol('AWS::NoValue');

export function resolve(value: unknown, ctx: ResolveContext): unknown {
  const out = resolveInner(value, ctx);
  return out === NO_VALUE ? undefined : out;
}

function resolveInner(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => resolveInner(v, ctx)).filter((v) => v !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    return resolveFn(keys[0], value[keys[0]], ctx);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolveInner(v, ctx);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function resolveFn(fn: string, arg: unknown, ctx: ResolveContext): unknown {
  switch (fn) {
    case 'Ref': {
      if (arg === 'AWS::NoValue') return NO_VALUE;
      return ctx.ref(String(arg));
    }
    case 'Fn::GetAtt': {
      const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.*)/s, 2);
      return ctx.getAtt(String(resolve(id, ctx)), String(resolve(attr, ctx)));
    }
    case 'Fn::Join': {
      const [sep, parts] = arg as [string, unknown];
      const list = resolve(parts, ctx) as unknown[];
      return list.map(str).join(sep);
    }
    case 'Fn::Sub': {
      const [template, vars] = Array.isArray(arg)
        ? [arg[0] as string, (resolve(arg[1], ctx) ?? {}) as Record<string, unknown>]
        : [arg as string, {} as Record<string, unknown>];
      return template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
        if (bang) return `\${${name}}`;
        if (name in vars) return str(vars[name]);
        const dot = name.indexOf('.');
        if (dot > 0 && !name.startsWith('AWS::')) {
          return str(ctx.getAtt(name.slice(0, dot), name.slice(dot + 1)));
        }
        return str(ctx.ref(name));
      });
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const arr = resolve(list, ctx) as unknown[];
      return arr[Number(resolve(index, ctx))];
    }
    case 'Fn::Split': {
      const [sep, source] = arg as [string, unknown];
      return String(resolve(source, ctx)).split(sep);
    }
    case 'Fn::If': {
      const [cond, whenTrue, whenFalse] = arg as [string, unknown, unknown];
      return resolveInner(ctx.condition(cond) ? whenTrue : whenFalse, ctx);
    }
    case 'Fn::Equals': {
      const [a, b] = arg as [unknown, unknown];
      return JSON.stringify(resolve(a, ctx)) === JSON.stringify(resolve(b, ctx));
    }
    case 'Fn::Not':
      return !evalCondition((arg as unknown[])[0], ctx);
    case 'Fn::And':
      return (arg as unknown[]).every((c) => evalCondition(c, ctx));
    case 'Fn::Or':
      return (arg as unknown[]).some((c) => evalCondition(c, ctx));
    case 'Fn::Base64':
      return Buffer.from(String(resolve(arg, ctx))).toString('base64');
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((z) => `${ctx.region}${z}`);
    case 'Fn::FindInMap': {
      const [map, k1, k2] = (arg as unknown[]).map((v) => String(resolve(v, ctx)));
      const found = ctx.mappings?.[map]?.[k1]?.[k2];
      if (found === undefined) {
        throw new UnsupportedIntrinsicError(`Fn::FindInMap: no ${map}.${k1}.${k2}`);
      }
      return found;
    }
    default:
      throw new UnsupportedIntrinsicError(
        `${fn} is not supported by the local runtime (cross-stack and macro functions need a deployed account)`
      );
  }
}

/** Conditions are objects like {"Fn::Equals": [...]} or {"Condition": "Name"}. */
export function evalCondition(cond: unknown, ctx: ResolveContext): boolean {
  if (isObject(cond) && typeof cond.Condition === 'string' && Object.keys(cond).length === 1) {
    return ctx.condition(cond.Condition);
  }
  return Boolean(resolve(cond, ctx));
}
