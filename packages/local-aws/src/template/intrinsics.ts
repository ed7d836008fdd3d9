/**
 * Resolves the CloudFormation intrinsics that a CDK template uses in function
 * environments and resource references (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, pseudo parameters) to the local runtime's names and URLs.
 */

/** What `Ref` and `Fn::GetAtt` return for one logical id locally. */
export interface LocalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Raised when a template value uses something the local runtime cannot resolve. */
export class TemplateResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateResolutionError';
  }
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

const PSEUDO: Record<string, string> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::NoValue': '',
};

/** Resolves a template value to a string using the local resources. */
export function resolveValue(
  value: unknown,
  resources: ReadonlyMap<string, LocalResource>,
  where = 'value',
): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object' || value === null)
    throw new TemplateResolutionError(`${where}: cannot resolve ${JSON.stringify(value)}`);
  const entries = Object.entries(value);
  const [fn, arg] = entries[0] ?? [];
  if (entries.length !== 1 || fn === undefined)
    throw new TemplateResolutionError(`${where}: not an intrinsic: ${JSON.stringify(value)}`);
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      const resource = resources.get(name);
      if (resource) return resource.ref;
      if (name in PSEUDO) return PSEUDO[name] as string;
      throw new TemplateResolutionError(`${where}: Ref to ${name}, which the local runtime does not create`);
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
      const resource = resources.get(String(logicalId));
      const resolved = resource?.attributes[String(attribute)];
      if (resolved === undefined) {
        throw new TemplateResolutionError(
          `${where}: Fn::GetAtt ${logicalId}.${attribute} is not available locally`,
        );
      }
      return resolved;
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((part, i) => resolveValue(part, resources, `${where}[${i}]`)).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [number | string, unknown];
      const items = Array.isArray(list) ? list : resolveValue(list, resources, where).split(',');
      return resolveValue(items[Number(index)], resources, where);
    }
    case 'Fn::Split': {
      throw new TemplateResolutionError(`${where}: Fn::Split only inside Fn::Select is supported`);
    }
    case 'Fn::Sub': {
      const [template, variables] = Array.isArray(arg)
        ? (arg as [string, Record<string, unknown>])
        : [String(arg), {}];
      return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (variables && name in variables) return resolveValue(variables[name], resources, where);
        if (name in PSEUDO) return PSEUDO[name] as string;
        if (name.includes('.')) return resolveValue({ 'Fn::GetAtt': name.split('.') }, resources, where);
        return resolveValue({ Ref: name }, resources, where);
      });
    }
    default:
      throw new TemplateResolutionError(`${where}: intrinsic ${fn} is not supported by the local runtime`);
  }
}

/** The logical id a `Ref`/`Fn::GetAtt` value points at, or undefined for anything else. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}
