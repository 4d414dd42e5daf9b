// Reading EC2 Query API form parameters: `Name.N` lists, `Filter.N.Name`/`Filter.N.Value.M`,
// `Tag.N.Key`/`Tag.N.Value` and `TagSpecification.N.…` as the SDK's ec2Query serializer writes them.
import { Ec2Fault } from './faults.js';

export type Params = ReadonlyMap<string, string>;

export interface TagInput {
  key: string;
  value: string | undefined;
}

export interface Filter {
  name: string;
  values: string[];
}

export function parseForm(body: string): Map<string, string> {
  return new Map(new URLSearchParams(body));
}

/** Values of `prefix.1`, `prefix.2`, … in index order. */
export function indexedList(params: Params, prefix: string): string[] {
  return indexes(params, prefix).map((i) => params.get(`${prefix}.${i}`)!);
}

/** The numeric indexes N present as `prefix.N` or `prefix.N.…`, sorted. */
function indexes(params: Params, prefix: string): number[] {
  const found = new Set<number>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)(\\.|$)`);
  for (const key of params.keys()) {
    const match = pattern.exec(key);
    if (match) found.add(Number(match[1]));
  }
  return [...found].sort((a, b) => a - b);
}

export function tagList(params: Params, prefix: string): TagInput[] {
  return indexes(params, prefix).map((i) => {
    const key = params.get(`${prefix}.${i}.Key`);
    if (key === undefined) throw new Ec2Fault('InvalidParameterValue', `${prefix}.${i}.Key is required`);
    return { key, value: params.get(`${prefix}.${i}.Value`) };
  });
}

export function filters(params: Params): Filter[] {
  return indexes(params, 'Filter').map((i) => {
    const name = params.get(`Filter.${i}.Name`);
    if (name === undefined) throw new Ec2Fault('InvalidParameterValue', `Filter.${i}.Name is required`);
    return { name, values: indexedList(params, `Filter.${i}.Value`) };
  });
}

/** Tags for `resourceType` from `TagSpecification.N.ResourceType` / `TagSpecification.N.Tag.M`. */
export function tagSpecifications(params: Params, resourceType: string): TagInput[] {
  return indexes(params, 'TagSpecification').flatMap((i) => {
    const type = params.get(`TagSpecification.${i}.ResourceType`);
    if (type !== resourceType) {
      throw new Ec2Fault(
        'InvalidParameterValue',
        `TagSpecification.${i}.ResourceType '${type ?? ''}' is not valid here; use '${resourceType}'`,
      );
    }
    return tagList(params, `TagSpecification.${i}.Tag`);
  });
}

export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') {
    throw new Ec2Fault('MissingParameter', `The request must contain the parameter ${name}`);
  }
  return value;
}

export function flag(params: Params, name: string): boolean {
  return params.get(name) === 'true';
}
